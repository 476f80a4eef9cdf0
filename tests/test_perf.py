"""The perf bench's parts that can be checked without a long run.

wrk output parsing against real captured outputs (tests/fixtures/wrk_latency*.txt), the
nginx config it generates (and a real nginx started on it), the original blog server,
and that every error wrk counted reaches the printed tables.
"""

from __future__ import annotations

import http.client
import os
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from bench.engines.wrk.command import WrkError, find_wrk, parse_wrk, wrk_command
from bench.engines.wrk.engine import run_wrk
from bench.perf.__main__ import parse_options, servers_to_measure
from bench.perf.render import render, table
from bench.perf.verdicts import (
    LARGE_COMPARISONS,
    VS_CEILING,
    LoadRow,
    Report,
    assess,
    close_assessment,
    keepalive_assessment,
    median_rows,
    to_json,
)
from bench.targets.nginx import NginxServer, find_nginx, nginx_config
from bench.targets.start import original_server

FIXTURES = Path(__file__).resolve().parent / "fixtures"
STATIC = Path(__file__).resolve().parent.parent / "static"
FIXTURE_NAMES = ("wrk_latency.txt", "wrk_latency_errors.txt", "wrk_latency_non2xx.txt")
SETTINGS = {"duration": 2.0, "connections": 50}
NGINX = find_nginx()
needs_nginx = pytest.mark.tool("nginx")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


# -- wrk output ----------------------------------------------------------------------------


def test_clean_keepalive_run_is_parsed_exactly() -> None:
    result = parse_wrk(fixture("wrk_latency.txt"))
    assert result.requests == 56454
    assert result.seconds == pytest.approx(2.0)
    assert result.requests_per_s == pytest.approx(28156.88)
    assert result.percentiles_ms == pytest.approx({50.0: 1.17, 75.0: 2.57, 90.0: 4.18, 99.0: 26.4})
    assert (result.p50_ms, result.p99_ms) == pytest.approx((1.17, 26.4))
    assert result.errors == 0


def test_socket_errors_are_counted_and_units_converted() -> None:
    # The original blog server under Connection: close: microseconds and seconds mixed.
    result = parse_wrk(fixture("wrk_latency_errors.txt"))
    assert result.requests == 7050
    assert result.seconds == pytest.approx(3.1)
    assert result.p50_ms == pytest.approx(0.315)
    assert result.p99_ms == pytest.approx(1110.0)
    assert (result.connect_errors, result.read_errors) == (0, 7050)
    assert (result.write_errors, result.timeout_errors) == (0, 0)
    assert result.socket_errors == result.errors == 7050


def test_non_2xx_3xx_responses_are_errors() -> None:
    result = parse_wrk(fixture("wrk_latency_non2xx.txt"))
    assert result.non_2xx_3xx == 46029
    assert result.socket_errors == 0
    assert result.errors == 46029


def test_output_without_latency_distribution_is_refused() -> None:
    lines = fixture("wrk_latency.txt").splitlines()
    without = "\n".join(line for line in lines if "%" not in line or "Stdev" in line)
    with pytest.raises(WrkError, match="--latency"):
        parse_wrk(without)


@pytest.mark.parametrize(
    "text",
    ["", "unable to connect to 127.0.0.1:1 Connection refused\n", "Usage: wrk <options> <url>\n"],
)
def test_output_without_a_result_is_refused(text: str) -> None:
    with pytest.raises(WrkError, match="Requests/sec"):
        parse_wrk(text)


def test_wrk_command_has_one_thread_latency_and_headers() -> None:
    command = wrk_command(
        "wrk", "http://127.0.0.1:1/x", duration=10, connections=50, headers=["Connection: close"]
    )
    assert command == [
        "wrk", "-t1", "-c50", "-d10s", "--latency", "-H", "Connection: close",
        "http://127.0.0.1:1/x",
    ]  # fmt: skip


# -- nginx ---------------------------------------------------------------------------------


def test_nginx_config_keeps_everything_in_its_directory(tmp_path: Path) -> None:
    text = nginx_config(STATIC, 8123, tmp_path, Path("/etc/nginx/mime.types"))
    for line in (
        "daemon off;",
        "worker_processes 1;",
        f"pid {tmp_path / 'nginx.pid'};",
        f"error_log {tmp_path / 'error.log'} warn;",
        "access_log off;",
        "listen 127.0.0.1:8123;",
        f"root {STATIC};",
        "include /etc/nginx/mime.types;",
    ):
        assert line in text
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert f"{kind}_temp_path {tmp_path / kind};" in text


def test_nginx_config_without_mime_types_file_still_types_html(tmp_path: Path) -> None:
    text = nginx_config(STATIC, 8123, tmp_path, None)
    assert "include" not in text
    assert "text/html html;" in text


@needs_nginx
def test_real_nginx_serves_the_page_and_is_stopped() -> None:
    assert NGINX is not None
    with NginxServer(NGINX, STATIC) as server:
        port = int(server.url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/index.html")
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        pid, workdir = server.pid, server.workdir
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/html"
    assert body == (STATIC / "index.html").read_bytes()
    assert not workdir.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.slow
@needs_nginx
@pytest.mark.tool("wrk")
def test_a_short_real_wrk_run_against_nginx_parses() -> None:
    wrk, nginx = find_wrk(), NGINX
    assert wrk is not None
    assert nginx is not None
    with NginxServer(nginx, STATIC) as server:
        result = run_wrk(wrk, server.url + "/index.html", duration=1, connections=4)
    assert result.requests > 0
    assert result.errors == 0


# -- the original blog server ----------------------------------------------------------------


def test_original_blog_server_answers_without_content_length() -> None:
    with (
        original_server(STATIC, None, STATIC.parent) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn,
    ):
        conn.sendall(b"GET /missing.html HTTP/1.1\r\nHost: x\r\n\r\n")
        response = b""
        while chunk := conn.recv(65536):
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")  # its 404 is a 200, as in the post
    assert b"content-length" not in head.lower()
    assert body == (STATIC / "not_found.html").read_bytes()


# -- results and rendering -------------------------------------------------------------------


def test_errors_and_verdicts_reach_the_printed_tables() -> None:
    ok, errors, non_2xx = (parse_wrk(fixture(name)) for name in FIXTURE_NAMES)
    report = Report(machine={"cpu": "test"}, versions={}, settings=SETTINGS)
    report.keepalive += [LoadRow("nginx", ok), LoadRow("asyncio", non_2xx, server_core=0.5)]
    report.close += [LoadRow("original", errors), LoadRow("blog", ok)]
    text = render(report)
    assert "non-2xx/3xx 46029" in text
    assert "read 7050" in text
    assert "50%" in text  # how busy asyncio's core was
    # asyncio: 22929.19 / 28156.88 = 0.81 of nginx < 0.9; blog: 28156.88 / 2273.90 >= 3
    ratio, target, outcome = keepalive_assessment(report, report.keepalive[1])
    assert ratio == pytest.approx(0.8143, abs=1e-4)
    assert (target, outcome) == (0.9, "INVALID")  # its run got 46,029 non-2xx responses
    assert close_assessment(report, report.close[1])[2] == "PASS"
    assert to_json(report)["keepalive"][1]["wrk"]["errors"] == 46029


def test_table_aligns_columns() -> None:
    lines = table(["server", "req/s"], [["nginx", "1"], ["uvloop", "12,345"]]).splitlines()
    assert lines == ["server   req/s", "------  ------", "nginx        1", "uvloop  12,345"]


def test_variants_are_compared_with_the_ceiling_on_their_own_loop() -> None:
    slow = parse_wrk(fixture("wrk_latency_errors.txt"))
    fast = parse_wrk(fixture("wrk_latency.txt"))
    names = ["ceiling-asyncio", "ceiling-uvloop", "uvloop", "asyncio", "threaded"]
    rows = [LoadRow(name, fast if name == "ceiling-uvloop" else slow) for name in names]
    assert assess(rows, rows[2], VS_CEILING)[0] == pytest.approx(
        slow.requests_per_s / fast.requests_per_s
    )
    assert assess(rows, rows[3], VS_CEILING)[:2] == (pytest.approx(1.0), 0.5)
    assert assess(rows, rows[4], VS_CEILING) == (None, None, "—")  # no loop, no ceiling
    report = Report(machine={}, versions={}, settings=SETTINGS, keepalive=rows)
    assert "ceiling-uvloop" in render(report)
    assert to_json(report)["keepalive"][2]["ratios"][1]["reference"] == "ceiling-uvloop"


def test_the_blog_variants_large_file_is_also_compared_with_nginx_closing() -> None:
    slow, fast = parse_wrk(fixture("wrk_latency_errors.txt")), parse_wrk(fixture("wrk_latency.txt"))
    names = ["nginx", "nginx-close", "blog", "blog-uvloop", "asyncio"]
    rows = [LoadRow(name, fast if name == "nginx" else slow) for name in names]
    to_nginx, to_close = LARGE_COMPARISONS
    assert assess(rows, rows[2], to_nginx)[:2] == (slow.requests_per_s / fast.requests_per_s, 0.9)
    assert assess(rows, rows[2], to_close) == (1.0, 0.9, "PASS")  # like with like
    assert assess(rows, rows[3], to_close)[:2] == (1.0, None)
    assert assess(rows, rows[4], to_close) == (None, None, "—")  # keeps its connections
    assert assess(rows, rows[1], to_close) == (None, None, "—")
    text = render(Report({}, {}, SETTINGS, large=rows))
    assert "vs nginx-close" in text
    assert "nginx-close: nginx with -H 'Connection: close'" in text


def test_a_rate_of_error_responses_meets_no_target() -> None:
    ok, non_2xx = (
        parse_wrk(fixture("wrk_latency.txt")),
        parse_wrk(fixture("wrk_latency_non2xx.txt")),
    )
    rows = [LoadRow("nginx", ok), LoadRow("threaded", non_2xx)]
    assert keepalive_assessment(Report({}, {}, SETTINGS, keepalive=rows), rows[1])[2] == "INVALID"


def test_each_reader_asked_is_measured_where_the_variant_has_it() -> None:
    options, _ = parse_options(["--reader", "aiofile,blocking", "--variants", "asyncio,threaded"])
    report = Report(machine={}, versions={}, settings=SETTINGS)
    measured = servers_to_measure(options, ["asyncio", "threaded"], report)
    assert [tuple(row) for row in measured] == [
        ("asyncio:aiofile", "asyncio", "aiofile"),  # not its own reader: no target
        ("asyncio", "asyncio", "blocking"),  # its own reader keeps its name and targets
        ("threaded", "threaded", "blocking"),
    ]
    assert report.notes == ["threaded: not measured with --reader aiofile, it has none"]


def test_a_row_with_another_reader_keeps_its_references_but_has_no_target() -> None:
    slow, fast = parse_wrk(fixture("wrk_latency_errors.txt")), parse_wrk(fixture("wrk_latency.txt"))
    rows = [LoadRow("ceiling-asyncio", fast), LoadRow("asyncio:thread", slow)]
    value, target, _ = assess(rows, rows[1], VS_CEILING)
    assert value == pytest.approx(slow.requests_per_s / fast.requests_per_s)
    assert target is None


@pytest.mark.parametrize("value", ["", "mmap", "thread,nope"])
def test_an_unknown_reader_is_refused_with_exit_2(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_options(["--reader", value])
    assert exited.value.code == 2
    assert "reader" in capsys.readouterr().err


def test_the_tables_say_which_cache_and_reader_ran() -> None:
    settings = {**SETTINGS, "cache": "off", "reader": "aiofile,thread"}
    rows = [LoadRow("nginx", None, "did not start")]
    report = Report({}, {}, settings, keepalive=rows, large=rows)
    titles = [line for line in render(report).splitlines() if line.startswith(("Keep", "Large"))]
    assert len(titles) == 2
    assert all("(cache off, reader aiofile,thread)" in title for title in titles)


def test_a_missing_large_file_is_refused_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("bench.perf.__main__.STATIC", tmp_path)  # a site without generated/
    with pytest.raises(SystemExit) as exited:
        parse_options([])
    assert exited.value.code == 2
    assert "make_static.py" in capsys.readouterr().err


# -- rounds ---------------------------------------------------------------------------------


def rated(server: str, rate: float, core: float) -> LoadRow:
    """A row whose wrk run made `rate` req/s, its server core `core` busy."""
    result = replace(parse_wrk(fixture("wrk_latency.txt")), requests_per_s=rate)
    return LoadRow(server, result, server_core=core)


def test_each_row_is_its_median_round_with_every_rounds_rate() -> None:
    rounds = [
        [rated("nginx", 100.0, 0.1), rated("uvloop", 90.0, 0.4)],
        [rated("nginx", 120.0, 0.2), rated("uvloop", 30.0, 0.5)],  # a slow minute for uvloop
        [rated("nginx", 80.0, 0.3), rated("uvloop", 95.0, 0.6)],
    ]
    nginx, uvloop = median_rows(rounds)
    assert (nginx.server, nginx.rounds, nginx.server_core) == ("nginx", (100.0, 120.0, 80.0), 0.1)
    assert nginx.result is not None
    assert nginx.result.requests_per_s == 100.0
    assert (uvloop.rounds, uvloop.server_core) == ((90.0, 30.0, 95.0), 0.4)  # the round's own
    assert uvloop.spread == pytest.approx((95.0 - 30.0) / 90.0)
    report = Report({}, {}, {**SETTINGS, "rounds": 3}, keepalive=[nginx, uvloop])
    assert keepalive_assessment(report, uvloop)[:2] == (pytest.approx(0.9), 0.9)
    text = render(report)
    assert "-d2s, median of 3 rounds" in text
    assert " 72% " in text  # uvloop's spread
    assert to_json(report)["keepalive"][1]["rounds_requests_per_s"] == [90.0, 30.0, 95.0]


def test_an_even_count_of_rounds_takes_the_lower_middle_one() -> None:
    (row,) = median_rows([[rated("asyncio", rate, 0.0)] for rate in (4.0, 1.0, 3.0, 2.0)])
    assert row.result is not None
    assert row.result.requests_per_s == 2.0
    assert median_rows([[rated("asyncio", 5.0, 0.0)]])[0].spread is None  # one round: no spread


def test_a_server_not_measured_in_every_round_shows_why_and_no_figure() -> None:
    rounds = [
        [rated("nginx", 100.0, 0.1), rated("blog", 10.0, 0.1)],
        [rated("nginx", 100.0, 0.1), LoadRow("blog", None, "did not start: port taken")],
        [rated("nginx", 100.0, 0.1)],
    ]
    nginx, blog = median_rows(rounds)
    assert blog == LoadRow("blog", None, "round 2 of 3: did not start: port taken")
    assert median_rows([rounds[0], rounds[2]])[1].note == "round 2 of 2: not measured"
    assert "skipped: round 2 of 3: did not start" in render(
        Report({}, {}, SETTINGS, close=[nginx, blog])
    )


def test_rounds_default_to_three_quick_is_one_and_zero_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert parse_options([])[0].rounds == 3
    assert parse_options(["--rounds", "5", "--quick"])[0].rounds == 1
    with pytest.raises(SystemExit) as exited:
        parse_options(["--rounds", "0"])
    assert exited.value.code == 2
    assert "--rounds" in capsys.readouterr().err
