"""`make deploy-smoke`: docs/deploy.md tried as written, on loopback.

One PostgreSQL (its database made by docs/deploy/create-database.sh), one Redis, an SMTP server, an
IMAP server (Dovecot), two app servers, the mail worker, the fetcher and the sweep (each started from
its systemd unit in docs/deploy/systemd, with the guide's environment file) and nginx with the guide's
site file in front, TLS included. Then, through the proxy, what the guide promises:

1. the previous version (the commit before the newest migration) serves, and the new one's `db upgrade`
   runs while it does; the app servers and workers are restarted one at a time onto the new code, and
   a client that keeps using the site through all of it sees no failed request;
2. an inquiry with a screenshot goes in through the proxy, its acknowledgement reaches the SMTP server,
   and an answer by mail comes back through IMAP onto the ticket; both app servers answered;
3. /metrics: refused through the proxy, and on each app server without the token; with it, what the
   guide's alerts read; the rate limits are counted in Redis;
4. the retention and attachment sweep units run; the backup unit's backup restores into a new
   database and folder with every row and file;
5. a SECRET_KEY rotation: the old key as a fallback, restarts, the reseal commands, the fallback gone;
   the requester's status link still opens.

Exits non-zero with what failed. Needs PostgreSQL's server binaries, redis-server, dovecot and nginx
(`.ci/run` installs them); a shallow clone (no history) skips the upgrade from the previous version.
"""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from email.mime.text import MIMEText
from email.utils import make_msgid, parseaddr
from pathlib import Path

import psycopg

from bench import scenarios
from bench.client import Browser
from bench.deploy_parts import (
    METRICS_TOKEN,
    Client,
    Smtp,
    answered_by_mail,
    certificate,
    file_hashes,
    opens,
    previous_version,
    row_counts,
    scrape,
    served,
    wait_for,
)
from bench.deploy_units import (
    DEPLOY,
    Site,
    Unit,
    nginx_site,
    read_env_file,
    run_script,
    write_env_file,
)
from bench.infra import ROOT, free_port
from tests import imap
from tests.postgres import Cluster, find_bindir

OPERATOR = "admin@ops.example.jp"
DB_PASSWORD = "smoke-db-password"
STATUS_LINK = re.compile(r"https://localhost:\d+/inquiry/status/[A-Za-z0-9_\-]+")


def say(message: str) -> None:
    print(f"deploy-smoke: {message}", flush=True)


def main() -> None:
    missing = [n for n in ("redis-server", "nginx") if not shutil.which(n)]
    if find_bindir() is None:
        missing.append("PostgreSQL server binaries")
    if imap.find_dovecot() is None:
        missing.append("dovecot")
    if missing:
        raise SystemExit(f"deploy-smoke needs {', '.join(missing)} (.ci/run installs them)")
    root = Path(tempfile.mkdtemp(prefix="kip-deploy-"))
    os.chmod(root, 0o755)  # noqa: S103 (PostgreSQL and nginx run as other users under it)
    with contextlib.ExitStack() as stack:
        if not os.environ.get("KIP_SMOKE_KEEP"):  # KIP_SMOKE_KEEP=1: keep the logs to read
            stack.callback(shutil.rmtree, root, ignore_errors=True)
        cluster = Cluster(find_bindir(), locale="C")  # the cluster's default locale is not UTF-8
        cluster.start()
        stack.callback(cluster.stop)
        pg = {"PGHOST": "127.0.0.1", "PGPORT": str(cluster.port), "PGUSER": "postgres"}
        redis_port = free_port()
        redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        stack.callback(redis.terminate)
        smtp = Smtp()
        smtp.controller.start()
        stack.callback(smtp.controller.stop)
        dovecot = imap.Dovecot(imap.find_dovecot()).start()
        stack.callback(dovecot.remove)
        stack.callback(dovecot.stop)
        tls_files = root / "tls"
        tls_files.mkdir()
        cert_file, key, tls = certificate(tls_files)
        https_port, http_port = free_port(), free_port()
        web_ports = [free_port(), free_port()]

        # The environment file: every line of the guide's example, with this machine's values.
        example = read_env_file(DEPLOY / "kip.env.example")
        url = f"postgresql://kip:{DB_PASSWORD}@127.0.0.1:{cluster.port}/kip"
        values = {
            "KIP_BIND_ADDRESS": "127.0.0.1",
            "DATABASE_URL": url,
            "SECRET_KEY": "smoke-first-secret-key-0123456789abcdef",
            "FLASK_PUBLIC_URL": f"https://localhost:{https_port}",
            "FLASK_RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
            "FLASK_MAIL_SERVER": "127.0.0.1",
            "FLASK_MAIL_PORT": str(smtp.port),
            "FLASK_INBOUND_IMAP_HOST": "127.0.0.1",
            "FLASK_INBOUND_IMAP_USERNAME": imap.USER,
            "FLASK_INBOUND_IMAP_PASSWORD": imap.PASSWORD,
            "FLASK_ATTACHMENT_FOLDER": str(root / "var-lib-kip" / "attachments"),
            "FLASK_METRICS_TOKEN": METRICS_TOKEN,
            "KIP_BACKUP_DIR": str(root / "backups"),
        }
        unknown = set(values) - set(example)
        if unknown:
            raise SystemExit(f"docs/deploy/kip.env.example no longer has {sorted(unknown)}")
        settings = {
            **example,
            **values,
            # This machine's IMAP server has a certificate of its own, on a port of its own.
            "FLASK_INBOUND_IMAP_PORT": str(dovecot.imaps_port),
            "FLASK_INBOUND_IMAP_CA_FILE": str(dovecot.ca_file),
            # Two app servers of two workers each on two cores.
            "GUNICORN_CMD_ARGS": "--workers 2",
        }
        site = Site(root=root, venv=Path(sys.executable).parent.parent, env_file=root / "kip.env")
        write_env_file(site.env_file, settings)
        (root / "var-lib-kip" / "attachments").mkdir(parents=True)
        (root / "backups").mkdir()

        say("PostgreSQL: docs/deploy/create-database.sh")
        lc_ctype = run_script(
            "create-database.sh", site, env={**pg, "KIP_DB_PASSWORD": DB_PASSWORD}
        )
        if "UTF-8" not in lc_ctype:
            raise SystemExit(f"the database's LC_CTYPE is {lc_ctype.strip()}, not UTF-8")
        say(f"ok: database kip with LC_CTYPE {lc_ctype.strip()}")

        previous = previous_version(root)
        first = previous or ROOT
        say(
            f"install {'the previous version' if previous else 'this version (no git history: no upgrade from the previous one)'}"
        )
        run_script("kip-flask", site, "db", "upgrade", code=first)
        run_script("kip-flask", site, "categories", "seed", code=first)
        subprocess.run(
            ["sh", str(DEPLOY / "kip-flask"), "operators", "create", OPERATOR, "--role", "admin"],
            input="a long passphrase for the smoke test\n",
            text=True,
            check=True,
            capture_output=True,
            env={
                "PATH": os.environ["PATH"],
                "KIP_ENV_FILE": str(site.env_file),
                "KIP_HOME": str(first),
            },
        )

        def web(port: int, code: Path) -> Unit:
            unit = Unit("kip-web@", site, code, str(port))
            unit.name = "kip-web@"
            return unit.start(f"http://127.0.0.1:{port}/healthz")

        servers = [web(p, first) for p in web_ports]
        workers = [
            Unit(n, site, first).start()
            for n in ("kip-mail-deliver", "kip-mail-fetch", "kip-sweep")
        ]
        for unit in (*servers, *workers):
            stack.callback(lambda u=unit: u.stop())

        nginx_dir = root / "nginx"
        nginx_dir.mkdir()
        (nginx_dir / "kip.conf").write_text(
            nginx_site(
                site, [f"127.0.0.1:{p}" for p in web_ports], https_port, http_port, cert_file, key
            )
        )
        temp = "".join(
            f"    {kind}_temp_path {nginx_dir}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (nginx_dir / "nginx.conf").write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"worker_processes 1;\npid {nginx_dir}/nginx.pid;\nerror_log {root}/logs/nginx-error.log;\n"
            "events { worker_connections 256; }\n"
            f"http {{\n    access_log {root}/logs/nginx-access.log;\n{temp}    include {nginx_dir}/kip.conf;\n}}\n"
        )
        check = subprocess.run(
            ["nginx", "-t", "-c", str(nginx_dir / "nginx.conf")],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            raise SystemExit(f"nginx -t refused the guide's site file:\n{check.stderr}")
        nginx = subprocess.Popen(
            ["nginx", "-c", str(nginx_dir / "nginx.conf"), "-g", "daemon off;"]
        )
        stack.callback(nginx.terminate)
        browser = Browser(https_port, host="localhost", tls=tls)
        wait_for("nginx", lambda: opens(browser, "/healthz"), 20)
        scenarios.choose_category(url)
        say("ok: two app servers, the workers and nginx are up")

        # docs/deploy.md#upgrades, in its order: the workers stop (their work waits in the database),
        # `db upgrade` runs while the app servers serve, each app server is restarted onto the new
        # code in turn, then the workers start again on it.
        with Client(https_port, tls) as client:
            time.sleep(2)
            for unit in workers:
                unit.stop()
            say(
                f"upgrade: db upgrade with the {'previous' if previous else 'same'} version serving"
            )
            run_script("kip-flask", site, "db", "upgrade")
            say("restart the app servers one at a time, then start the workers")
            for i, port in enumerate(web_ports):
                servers[i].stop()
                servers[i] = web(port, ROOT)
                stack.callback(servers[i].stop)
                # The proxy takes it back once its fail_timeout is over: only then the next one.
                wait_for(
                    f"the proxy to send requests to :{port} again",
                    lambda p=port: served(p) > 20,
                    30,
                )
            for i, unit in enumerate(workers):
                workers[i] = Unit(unit.name, site, ROOT).start()
                stack.callback(workers[i].stop)
            time.sleep(2)
        if client.failures:
            raise SystemExit(
                f"{len(client.failures)} failed requests during the upgrade:\n"
                + "\n".join(client.failures[:10])
            )
        say(f"ok: {client.requests} requests through the upgrade and the restarts, none failed")
        head = run_script("kip-flask", site, "db", "current")
        say(f"ok: the database is at {head.split()[-2] if head.split() else head!r}")

        # An inquiry with a screenshot, through the proxy; its acknowledgement; an answer by mail.
        scenarios.SCREENSHOT["attachments"] = scenarios.screenshot(0.2)
        sample = scenarios.submit(
            Browser(https_port, host="localhost", tls=tls), 1, files=scenarios.SCREENSHOT
        )
        if sample.error:
            raise SystemExit(f"the inquiry form through the proxy: {sample.error}")
        number = sample.result
        ack = smtp.to("bench1@himawari.example.jp")
        text = ack.get_body(preferencelist=("plain",)).get_content()
        status_link = STATUS_LINK.search(text)
        if not status_link:
            raise SystemExit("the acknowledgement has no status link of the public URL")
        status_path = status_link.group(0).split(str(https_port), 1)[1]
        if not opens(browser, status_path):
            raise SystemExit("the status link does not open through the proxy")
        say(
            f"ok: inquiry {number} with a screenshot; its acknowledgement arrived with a working status link"
        )
        reply = MIMEText("試してみましたが、まだログインできません。", "plain", "utf-8")
        reply["From"] = "bench1@himawari.example.jp"
        reply["To"] = parseaddr(str(ack["Reply-To"]))[1]
        reply["Subject"] = f"Re: {ack['Subject']}"
        reply["Message-ID"] = make_msgid(domain="himawari.example.jp")
        reply["In-Reply-To"] = str(ack["Message-ID"])
        mailbox = imap.Mailbox(dovecot)
        mailbox.deliver(reply.as_bytes())
        mailbox.close()
        try:
            wait_for("the answer by mail on the ticket", lambda: answered_by_mail(url, number), 60)
        except SystemExit:
            with psycopg.connect(url) as conn:
                rows = conn.execute(
                    "SELECT state, reason, recipient, from_address FROM inbound_emails"
                ).fetchall()
            raise SystemExit(f"the answer by mail did not reach the ticket: {rows}") from None
        say("ok: the answer by mail came in through IMAP onto the ticket")

        # /metrics: never through the proxy, on each server only with the token.
        if browser.get("/metrics").status != 404:
            raise SystemExit("/metrics is reachable through the proxy")
        for port in web_ports:
            if scrape(port, None)[0] != 401:
                raise SystemExit(f"/metrics of :{port} answers without the token")
            status, body = scrape(port, METRICS_TOKEN)
            if status != 200 or served(port) < 5:
                raise SystemExit(f"/metrics of :{port}: HTTP {status}, {served(port)} requests")
            for worker in ("deliver", "fetch", "sweep"):
                if f'kip_worker_last_success_timestamp_seconds{{worker="{worker}"}}' not in body:
                    raise SystemExit(f"/metrics has no heartbeat of {worker}")
        say(
            "ok: /metrics refused through the proxy and without the token; both servers counted requests; every worker's heartbeat"
        )
        import redis as redis_client

        limits = redis_client.Redis(port=redis_port).keys("LIMITS*")
        if not limits:
            raise SystemExit("no rate-limit counter in Redis")
        fifth = scenarios.submit(Browser(https_port, host="localhost", tls=tls), 2)
        sixth = scenarios.submit(Browser(https_port, host="localhost", tls=tls), 3)
        if fifth.error or not (sixth.error and "429" in sixth.error) or client.sent != 3:
            raise SystemExit(f"the send limit: {client.sent} + 2 sent, then {sixth.error}")
        say(
            f"ok: the sixth inquiry in 10 minutes was refused by either server ({len(limits)} counters in Redis)"
        )

        # The daily units, the backup and its restore.
        for name in ("kip-retention", "kip-attachments-sweep"):
            say(f"ok: {name}: {Unit(name, site).run().strip()}")
        backup = Path(Unit("kip-backup", site).run().strip().splitlines()[-1])
        restored_url = url.rsplit("/", 1)[0] + "/kip_restored"
        run_script(
            "create-database.sh",
            site,
            env={**pg, "KIP_DB_NAME": "kip_restored", "KIP_DB_PASSWORD": DB_PASSWORD},
        )
        restored_files = root / "restored-attachments"
        run_script(
            "restore.sh",
            site,
            str(backup),
            env={"DATABASE_URL": restored_url, "FLASK_ATTACHMENT_FOLDER": str(restored_files)},
        )
        live, copy = row_counts(url), row_counts(restored_url)
        files = file_hashes(root / "var-lib-kip" / "attachments")
        if live != copy or files != file_hashes(restored_files) or not files:
            raise SystemExit(f"the restore differs: {live} vs {copy}, {len(files)} files")
        say(
            f"ok: backup restored: {sum(copy.values())} rows in {len(copy)} tables, {len(files)} files"
        )

        # Key rotation: the new key with the old one as a fallback, restarts, reseal, fallback gone.
        old_key = settings["SECRET_KEY"]
        for step, extra in (
            (
                "with the old key as a fallback",
                {
                    "SECRET_KEY": "smoke-second-secret-key-0123456789abcdef",
                    "FLASK_SECRET_KEY_FALLBACKS": f'["{old_key}"]',
                },
            ),
            ("without the fallback", {"SECRET_KEY": "smoke-second-secret-key-0123456789abcdef"}),
        ):
            settings = {
                k: v for k, v in settings.items() if k != "FLASK_SECRET_KEY_FALLBACKS"
            } | extra
            write_env_file(site.env_file, settings)
            for i, port in enumerate(web_ports):
                servers[i].stop()
                servers[i] = web(port, ROOT)
                stack.callback(servers[i].stop)
            if "FLASK_SECRET_KEY_FALLBACKS" in extra:
                for command in (("tickets", "reseal"), ("mail", "reseal"), ("operators", "reseal")):
                    say(f"  {' '.join(command)}: {run_script('kip-flask', site, *command).strip()}")
            if not opens(browser, status_path):
                raise SystemExit(f"the status link no longer opens {step}")
        say("ok: SECRET_KEY rotated; the status link still opens")
        for unit in (*servers, *workers):
            unit.stop()
            if unit.process and unit.process.returncode not in (0, -15):
                raise SystemExit(
                    f"{unit.name}{unit.instance} stopped with {unit.process.returncode}:\n{unit.log()[-2000:]}"
                )
        say("passed")


if __name__ == "__main__":
    main()
