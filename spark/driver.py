"""k2ops' warm Spark session: one SparkSession served over a Unix socket.

A cold Spark start costs seconds (about 15 s on two cores); a flow must finish in a few. So k2ops
starts this driver once per target (home + catalog + namespace) with spark-submit, and every k2ops
command sends it SQL. Protocol: one JSON line per request, one JSON line per answer.

  request:  {"statements": ["SQL", ...], "collect": "last" | "each"}
            {"op": "ping"}  {"op": "shutdown"}
  answer:   {"ok": true, "results": [{"columns": [...], "types": [...], "rows": [[...]]}], "ms": N}
            {"ok": false, "error": "<one line>", "kind": "AnalysisException", "errorClass": ...}

Values are JSON-safe and exact: DECIMAL and BIGINT as text (a BIGINT above 2^53 would lose digits
as a JavaScript number), INT/SMALLINT/TINYINT and DOUBLE/FLOAT as numbers (NaN and infinities as
text), TIMESTAMP as ISO-8601 UTC with microseconds (2024-08-08T23:55:00.000001Z), TIMESTAMP_NTZ the
same without the Z, DATE as YYYY-MM-DD, BINARY as base64, NULL as null, arrays as lists, maps and
structs as objects.

Requests run one at a time. A client whose connection closes while its request runs (it was killed)
has its Spark jobs cancelled (job group, interruptOnCancel) and its remaining statements dropped, so
nothing of it commits afterwards. Tracebacks go to the driver's log (--log), written before the
answer leaves: a client told "see the log" finds the stack there. (Python's stderr reaches the log
only through the JVM, which copies it on a thread of its own and may lag behind the answer.)
"""

import argparse
import json
import logging
import os
import select
import socket
import sys
import threading
import time
import traceback

from k2ops_answers import error_answer, jvm_stack, one_line, table

log = logging.getLogger("k2ops.spark")
SECRET_ENV = {"K2OPS_SPARK_CATALOG_CREDENTIAL": "credential", "K2OPS_SPARK_CATALOG_TOKEN": "token"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--idle-timeout", type=float, default=900.0, help="seconds without requests before exiting")
    parser.add_argument("--catalog", default="iceberg", help="the catalog name, for the secrets read from the environment")
    parser.add_argument("--log", help="the driver's log, appended to (default: stderr)")
    args = parser.parse_args()

    target = {"filename": args.log, "filemode": "a", "encoding": "utf-8"} if args.log else {"stream": sys.stderr}
    logging.basicConfig(**target, level=logging.INFO, format="%(asctime)s k2ops-driver[%(process)d] %(levelname)s %(message)s")
    # Python renders TIMESTAMP values in its own local time zone: UTC makes them the stored instants.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    os.environ["TZ"] = "UTC"
    time.tzset()

    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("k2ops")
    # Catalog secrets never travel on the command line (any user could read them with ps).
    for env_name, key in SECRET_ENV.items():
        if os.environ.get(env_name):
            builder = builder.config(f"spark.sql.catalog.{args.catalog}.{key}", os.environ[env_name])
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    # The first query of a JVM pays for class loading and code generation (seconds): paid here,
    # before the socket appears, not by the first command's statement.
    spark.sql("SELECT 1").collect()
    log.info("Spark %s ready (master %s)", spark.version, spark.sparkContext.master)

    Server(spark, args.socket, args.idle_timeout).serve()


class Server:
    def __init__(self, spark, path, idle_timeout):
        self.spark = spark
        self.path = path
        self.idle_timeout = idle_timeout
        self.run_lock = threading.Lock()
        self.last_activity = time.monotonic()
        self.running = 0
        self.state_lock = threading.Lock()
        self.stopping = threading.Event()
        self.request_count = 0
        self.inode = None

    def serve(self):
        listener = self.listen()
        threading.Thread(target=self.watch_idle, name="idle", daemon=True).start()
        log.info("serving on %s (idle timeout %.0f s)", self.path, self.idle_timeout)
        listener.settimeout(1.0)
        try:
            while not self.stopping.is_set():
                try:
                    conn, _ = listener.accept()
                except socket.timeout:
                    continue
                threading.Thread(target=self.handle, args=(conn,), daemon=True).start()
        finally:
            listener.close()
            self.remove_socket()
            log.info("stopping Spark")
            try:
                self.spark.stop()
            finally:
                logging.shutdown()
                os._exit(0)

    def listen(self):
        directory = os.path.dirname(self.path)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
        # Bound under a private name and moved into place: a client never sees a socket that is not
        # 0600 or not yet listening, and the name that clients connect to appears only when ready.
        staging = f"{self.path}.{os.getpid()}"
        if os.path.exists(staging):
            os.unlink(staging)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            listener.bind(staging)
        finally:
            os.umask(old_umask)
        os.chmod(staging, 0o600)
        listener.listen(16)
        os.replace(staging, self.path)
        self.inode = os.stat(self.path).st_ino
        return listener

    def remove_socket(self):
        try:
            # Only our own socket: a newer driver may have taken the name since.
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
        except OSError:
            pass

    def watch_idle(self):
        while not self.stopping.is_set():
            time.sleep(min(1.0, max(self.idle_timeout / 4, 0.05)))
            with self.state_lock:
                idle = self.running == 0 and time.monotonic() - self.last_activity >= self.idle_timeout
            if idle:
                log.info("no request for %.0f s: exiting", self.idle_timeout)
                self.stopping.set()

    def handle(self, conn):
        reader = conn.makefile("rb")
        try:
            for line in reader:
                if not line.strip():
                    continue
                answer = self.answer(conn, line)
                if answer is None:
                    return
                conn.sendall((json.dumps(answer, separators=(",", ":")) + "\n").encode("utf-8"))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:
            log.error("connection failed:\n%s", traceback.format_exc())
        finally:
            reader.close()
            conn.close()

    def answer(self, conn, line):
        """The answer to one request line; None when the client went away meanwhile."""
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
        except ValueError as error:
            return {"ok": False, "error": f"bad request: {one_line(str(error))}", "kind": "BadRequest"}
        op = request.get("op", "sql")
        if op == "ping":
            self.touch()
            return {"ok": True, "pid": os.getpid(), "spark": self.spark.version, "master": self.spark.sparkContext.master}
        if op == "shutdown":
            log.info("shutdown requested")
            self.stopping.set()
            return {"ok": True}
        if op != "sql":
            return {"ok": False, "error": f"bad request: unknown op {op!r}", "kind": "BadRequest"}
        statements = request.get("statements")
        collect = request.get("collect", "last")
        if not isinstance(statements, list) or not all(isinstance(s, str) for s in statements) or collect not in ("last", "each"):
            return {"ok": False, "error": "bad request: statements must be a list of strings, collect 'last' or 'each'", "kind": "BadRequest"}
        return self.run_watched(conn, statements, collect)

    def run_watched(self, conn, statements, collect):
        """Runs the statements on a worker thread while watching the client's connection."""
        with self.state_lock:
            self.request_count += 1
            group = f"k2ops-{os.getpid()}-{self.request_count}"
            self.running += 1
        outcome = {}
        cancelled = threading.Event()
        worker = threading.Thread(target=self.run_statements, args=(statements, collect, group, cancelled, outcome), daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.2)
                if worker.is_alive() and client_gone(conn):
                    log.warning("client left during request %s: cancelling its Spark jobs", group)
                    cancelled.set()
                    # A job submitted after a cancel is not cancelled by it (the statement may still
                    # have been planning): cancel again until the statement has ended.
                    while worker.is_alive():
                        self.spark.sparkContext.cancelJobGroup(group)
                        worker.join(0.2)
                    log.info("request %s cancelled", group)
                    return None
            return outcome["answer"]
        finally:
            self.touch(done=True)

    def run_statements(self, statements, collect, group, cancelled, outcome):
        started = time.monotonic()
        with self.run_lock:
            sc = self.spark.sparkContext
            sc.setJobGroup(group, "k2ops request", interruptOnCancel=True)
            log.info("request %s started: %d statement(s)", group, len(statements))
            results = []
            try:
                for index, statement in enumerate(statements):
                    if cancelled.is_set():
                        outcome["answer"] = {"ok": False, "error": "cancelled: the client left", "kind": "Cancelled"}
                        return
                    frame = self.spark.sql(statement)
                    if collect == "each" or index == len(statements) - 1:
                        results.append(table(frame))
                outcome["answer"] = {"ok": True, "results": results, "ms": round((time.monotonic() - started) * 1000)}
            except Exception as error:
                log.error("statement failed:\n%s%s", traceback.format_exc(), jvm_stack(error))
                outcome["answer"] = error_answer(error)
            finally:
                sc.setLocalProperty("spark.jobGroup.id", None)

    def touch(self, done=False):
        with self.state_lock:
            if done:
                self.running -= 1
            self.last_activity = time.monotonic()


def client_gone(conn):
    """Has the client closed its end? (A request line it sent early is left unread.)"""
    readable, _, _ = select.select([conn], [], [], 0)
    if not readable:
        return False
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


if __name__ == "__main__":
    main()
