import neo4j, { type Driver } from 'neo4j-driver';

export interface Migration {
  /** Stable, ordered id recorded as (:Migration {id}); never rename one that has shipped. */
  id: string;
  /** Schema statements; each must be idempotent (IF NOT EXISTS) because a crash may re-run a migration. */
  statements: readonly string[];
}

/** The schema, in order. Append only: a database remembers which ids it has applied. */
export const migrations: readonly Migration[] = [
  {
    id: '0001-unique-ids',
    statements: [
      'CREATE CONSTRAINT migration_id IF NOT EXISTS FOR (m:Migration) REQUIRE m.id IS UNIQUE',
      'CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE',
      'CREATE CONSTRAINT fact_id IF NOT EXISTS FOR (f:Fact) REQUIRE f.id IS UNIQUE',
      'CREATE CONSTRAINT episode_id IF NOT EXISTS FOR (e:Episode) REQUIRE e.id IS UNIQUE',
    ],
  },
  {
    id: '0002-fact-indexes',
    statements: [
      // "Newest first" and, later, category-scoped reads filter and sort on these.
      'CREATE INDEX fact_created_at IF NOT EXISTS FOR (f:Fact) ON (f.created_at)',
      'CREATE INDEX fact_data_category IF NOT EXISTS FOR (f:Fact) ON (f.data_category)',
    ],
  },
  {
    id: '0003-search-indexes',
    statements: [
      // Hybrid search: words in the fact's text and parts, and the meaning of its text (256-d cosine vectors).
      'CREATE FULLTEXT INDEX fact_fulltext IF NOT EXISTS FOR (f:Fact) ON EACH [f.text, f.subject, f.predicate, f.object]',
      `CREATE VECTOR INDEX fact_embedding IF NOT EXISTS FOR (f:Fact) ON (f.embedding)
       OPTIONS {indexConfig: {\`vector.dimensions\`: 256, \`vector.similarity_function\`: 'cosine'}}`,
      // Neighbourhood expansion starts from entities the query names.
      'CREATE FULLTEXT INDEX entity_name IF NOT EXISTS FOR (e:Entity) ON EACH [e.name]',
      // As-of and history reads filter on valid time.
      'CREATE INDEX fact_valid_at IF NOT EXISTS FOR (f:Fact) ON (f.valid_at)',
    ],
  },
];

/** Dimensions of the fact_embedding vector index; embeddings are requested at this size. */
export const embeddingDimensions = 256;

export interface MigrateOptions {
  driver: Driver;
  /** Database to migrate (default "neo4j"). */
  database?: string;
  /** The migrations to apply (default: this service's list). */
  list?: readonly Migration[];
}

/**
 * Applies the migrations this database has not recorded, in order, and returns the ids applied now.
 * Neo4j refuses schema and data changes in one transaction, so each statement runs on its own and the
 * (:Migration) record is written after them; replicas starting together both succeed because every step is
 * idempotent.
 */
export async function runMigrations({ driver, database = 'neo4j', list = migrations }: MigrateOptions): Promise<string[]> {
  const session = driver.session({ database, defaultAccessMode: neo4j.session.WRITE });
  try {
    const done = await session.executeRead(async (tx) => {
      const result = await tx.run('MATCH (m:Migration) RETURN m.id AS id');
      return new Set(result.records.map((r) => r.get('id') as string));
    });
    const applied: string[] = [];
    for (const migration of list) {
      if (done.has(migration.id)) continue;
      for (const statement of migration.statements) {
        await session.executeWrite((tx) => tx.run(statement));
      }
      await session.executeWrite((tx) =>
        tx.run('MERGE (m:Migration {id: $id}) ON CREATE SET m.applied_at = $now', { id: migration.id, now: neo4j.int(Date.now()) }),
      );
      applied.push(migration.id);
    }
    // Later reads must not race an index that is still populating.
    if (applied.length > 0) await session.run('CALL db.awaitIndexes(60)');
    return applied;
  } finally {
    await session.close();
  }
}
