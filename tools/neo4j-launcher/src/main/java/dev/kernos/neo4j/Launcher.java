package dev.kernos.neo4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

/**
 * Runs Neo4j Community embedded with only a Bolt connector on loopback, for the Kernos dev stack.
 *
 * <p>Usage: {@code Launcher --port 7687 --data-dir /path/to/neo4j}. When the default database accepts
 * work it prints exactly one line, {@code KERNOS_NEO4J_READY bolt://127.0.0.1:<port>}, on stdout; the
 * dev stack waits for that line. SIGTERM (or SIGINT) shuts the database down cleanly through a shutdown
 * hook, so the store is never left needing recovery.
 */
public final class Launcher {
  static final String READY_MARKER = "KERNOS_NEO4J_READY";

  private Launcher() {}

  public static void main(String[] args) throws Exception {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("neo4j-launcher: " + e.getMessage());
      System.err.println("usage: Launcher --port <port> --data-dir <dir>");
      System.exit(2);
      return;
    }
    Files.createDirectories(options.dataDir);

    DatabaseManagementService dbms =
        new DatabaseManagementServiceBuilder(options.dataDir)
            .setConfig(BoltConnector.enabled, true)
            .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", options.port))
            // Dev only: the stack binds to loopback and tests must not manage credentials.
            .setConfig(GraphDatabaseSettings.auth_enabled, false)
            // Small footprint: dev and CI machines run this beside NATS, Temporal and the services.
            .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(128))
            .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
            .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(32))
            .setConfig(GraphDatabaseSettings.keep_logical_logs, "1 files")
            // Bolt waits 5s twice by default before closing; the store is checkpointed before Bolt
            // stops, so a short wait is safe and keeps fault tests that restart Neo4j quick.
            .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
            .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1))
            .build();

    CountDownLatch stopped = new CountDownLatch(1);
    // The JVM runs shutdown hooks on SIGTERM/SIGINT; shutting down here checkpoints the store.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    dbms.shutdown();
                  } finally {
                    stopped.countDown();
                  }
                },
                "kernos-neo4j-shutdown"));

    // build() returns once the DBMS is up, but the default database may still be starting; Bolt
    // clients would then see "database unavailable", so readiness waits for it.
    String defaultDb = GraphDatabaseSettings.DEFAULT_DATABASE_NAME;
    if (!dbms.database(defaultDb).isAvailable(Duration.ofSeconds(60).toMillis())) {
      System.err.println("neo4j-launcher: database '" + defaultDb + "' did not become available in 60s");
      System.exit(1);
    }

    System.out.println(READY_MARKER + " bolt://127.0.0.1:" + options.port);
    System.out.flush();

    // Keep the main thread parked; the shutdown hook releases it.
    stopped.await();
  }

  /** Command-line options; both are required so a misconfigured stack fails loudly. */
  record Options(int port, Path dataDir) {
    static Options parse(String[] args) {
      Integer port = null;
      Path dataDir = null;
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("missing value for " + flag);
        }
        String value = args[++i];
        switch (flag) {
          case "--port" -> port = parsePort(value);
          case "--data-dir" -> dataDir = Path.of(value).toAbsolutePath();
          default -> throw new IllegalArgumentException("unknown option " + flag);
        }
      }
      if (port == null) throw new IllegalArgumentException("--port is required");
      if (dataDir == null) throw new IllegalArgumentException("--data-dir is required");
      return new Options(port, dataDir);
    }

    private static int parsePort(String value) {
      try {
        int port = Integer.parseInt(value);
        if (port < 1 || port > 65535) throw new NumberFormatException();
        return port;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--port must be 1-65535, got " + value);
      }
    }
  }
}
