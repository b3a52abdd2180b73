/**
 * A binary min-heap that knows where each item sits, so an item can be removed in O(log n) when its caller gives
 * up (wait timeout, cancel). Policies keep their waiters in these instead of scanning a list: at 10k queued a
 * linear scan per decision would cap the scheduler far below the 10k decisions/s it must sustain.
 */
export class IndexedHeap<T> {
  private readonly items: T[] = [];
  private readonly positions = new Map<T, number>();

  /** `before(a, b)` is true when `a` must come out before `b`; it must be a strict weak order that never changes while both are queued. */
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  has(item: T): boolean {
    return this.positions.has(item);
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    if (this.positions.has(item)) return;
    this.items.push(item);
    this.positions.set(item, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  /** Removes `item` if queued; returns whether it was. */
  remove(item: T): boolean {
    const index = this.positions.get(item);
    if (index === undefined) return false;
    this.removeAt(index);
    return true;
  }

  values(): IterableIterator<T> {
    return this.items.values();
  }

  private removeAt(index: number): void {
    const removed = this.items[index]!;
    const last = this.items.pop()!;
    this.positions.delete(removed);
    if (index === this.items.length) return;
    this.items[index] = last;
    this.positions.set(last, index);
    this.down(index);
    this.up(index);
  }

  private up(start: number): void {
    let index = start;
    const item = this.items[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = this.items[parentIndex]!;
      if (!this.before(item, parent)) break;
      this.items[index] = parent;
      this.positions.set(parent, index);
      index = parentIndex;
    }
    this.items[index] = item;
    this.positions.set(item, index);
  }

  private down(start: number): void {
    let index = start;
    const length = this.items.length;
    const item = this.items[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && this.before(this.items[right]!, this.items[left]!) ? right : left;
      if (!this.before(this.items[child]!, item)) break;
      this.items[index] = this.items[child]!;
      this.positions.set(this.items[index]!, index);
      index = child;
    }
    this.items[index] = item;
    this.positions.set(item, index);
  }
}
