"""The Dagster UI as the place to run and read the product: a real webserver, driven through GraphQL and a browser."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from traveltide_assets.definitions import defs
from traveltide_assets.defs.columns import USER_FEATURES
from traveltide_assets.defs.partitions import full_run_tags
from traveltide_assets.synthetic.generate import GeneratorConfig, generate_source
from traveltide_assets.synthetic.load import write_parquet_store
from traveltide_assets_tests.cli_process import COMMAND, cli_env, run_cli

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = pytest.mark.ui


@dataclass
class Webserver:
    url: str
    data_dir: Path

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
        assert "errors" not in payload, payload["errors"]
        return payload["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def _serving(command: list[str], port: int, env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Start a webserver command in its own process group and yield its URL once it answers; stop it after."""
    log = log_path.open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while not _answers(url):
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{' '.join(command)} did not answer within 180 s"
            time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webserver]:
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    data_dir = tmp_path_factory.mktemp("data")
    write_parquet_store(generate_source(GeneratorConfig(users=30_000, seed=17)), data_dir / "source")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAVELTIDE_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(home), TRAVELTIDE_DATA_DIR=str(data_dir))
    command = [sys.executable, "-m", "dagster", "dev", "-w", str(ROOT / "workspace.yaml"),
               "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip
    with _serving(command, port, env, home / "dagster_dev.log") as url:
        yield Webserver(url, data_dir)


ASSETS_QUERY = "{ assetNodes { assetKey { path } } }"
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
RUN_STATUS = "query Status($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
LATEST_METADATA = """
query Latest($path: [String!]!) {
  assetOrError(assetKey: {path: $path}) {
    ... on Asset {
      assetMaterializations(limit: 1) {
        runId
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on JsonMetadataEntry { jsonString }
          ... on FloatMetadataEntry { floatValue }
        }
      }
    }
  }
}"""


def test_ui_lists_every_asset_runs_the_graph_and_shows_metadata(webserver: Webserver) -> None:
    listed = {"/".join(n["assetKey"]["path"]) for n in webserver.graphql(ASSETS_QUERY)["assetNodes"]}
    expected = {k.to_user_string() for k in defs.get_repository_def().asset_graph.get_all_asset_keys()}
    assert listed == expected

    params = {
        "selector": {
            "repositoryLocationName": "traveltide_assets",
            "repositoryName": "__repository__",
            "jobName": "refresh_all",
        },
        "runConfigData": {},
        "mode": "default",
        # Every session month in one run, as the UI's "Materialize all" over all partitions launches it.
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in full_run_tags().items()]},
    }
    launched = webserver.graphql(LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 600
    status = "QUEUED"
    while status not in ("SUCCESS", "FAILURE", "CANCELED"):
        assert time.monotonic() < deadline, f"run {run_id} still {status} after 600 s"
        time.sleep(2)
        status = webserver.graphql(RUN_STATUS, {"id": run_id})["runOrError"]["status"]
    assert status == "SUCCESS"

    latest = webserver.graphql(LATEST_METADATA, {"path": ["perk_assignments"]})["assetOrError"]
    materialization = latest["assetMaterializations"][0]
    assert materialization["runId"] == run_id
    entries = {e["label"]: e for e in materialization["metadataEntries"]}
    assert entries["dagster/row_count"]["intValue"] > 0
    shares = json.loads(entries["perk_shares"]["jsonString"])
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)
    assert (webserver.data_dir / "report" / "executive_summary.html").is_file()


RUNS = "{ runsOrError { ... on Runs { results { runId status jobName } } } }"
COLUMN_SCHEMA = """
query Schema($path: [String!]!) {
  assetOrError(assetKey: {path: $path}) {
    ... on Asset {
      assetMaterializations(limit: 1) {
        metadataEntries { label ... on TableSchemaMetadataEntry { schema { columns { name description } } } }
      }
    }
  }
}"""
CHECK_RESULTS = """
{
  assetNodes {
    assetKey { path }
    assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { runId status } } } }
  }
}"""


def test_cli_run_shows_in_the_ui_of_the_same_instance(tmp_path: Path) -> None:
    """`traveltide run` and `traveltide ui`, neither given DAGSTER_HOME: the UI shows the run, its materialisations
    (their column schemas with the columns' meanings) and its check results, read from the data folder's instance
    (data/dagster_home)."""
    data = tmp_path / "data"
    env = cli_env(data)
    done = run_cli("run", "--users", "8000", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (data / "dagster_home" / "dagster.yaml").is_file()

    port = _free_port()
    command = [*COMMAND, "ui", "--host", "127.0.0.1", "--port", str(port)]
    with _serving(command, port, env, tmp_path / "traveltide_ui.log") as url:
        ui = Webserver(url, data)
        [run] = ui.graphql(RUNS)["runsOrError"]["results"]
        assert (run["status"], run["jobName"]) == ("SUCCESS", "refresh_all")
        latest = ui.graphql(LATEST_METADATA, {"path": ["perk_assignments"]})["assetOrError"]
        assert latest["assetMaterializations"][0]["runId"] == run["runId"]
        nodes = ui.graphql(CHECK_RESULTS)["assetNodes"]
        schema = ui.graphql(COLUMN_SCHEMA, {"path": ["user_features"]})["assetOrError"]["assetMaterializations"][0]
    # The column schema the UI shows carries each column's meaning (defs/columns.py).
    [entry] = [e for e in schema["metadataEntries"] if e["label"] == "dagster/column_schema"]
    described = {c["name"]: c["description"] for c in entry["schema"]["columns"]}
    assert described == USER_FEATURES
    executions = {
        f"{'/'.join(node['assetKey']['path'])}:{check['name']}": check["executionForLatestMaterialization"]
        for node in nodes
        for check in node["assetChecksOrError"].get("checks", [])
    }
    assert len(executions) == len(list(defs.get_repository_def().asset_graph.asset_check_keys))
    # Every check of the graph ran in this run on the latest materialisation of its asset, and passed.
    assert {key: e and (e["runId"], e["status"]) for key, e in executions.items()} == dict.fromkeys(
        executions, (run["runId"], "SUCCEEDED")
    )


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_browser_renders_the_report_and_the_asset_graph(webserver: Webserver, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    report = webserver.data_dir / "report" / "executive_summary.html"
    if not report.is_file():  # the run test above writes it; materialise here when run alone
        subprocess.run(
            [sys.executable, "-m", "traveltide_assets.cli", "run"], cwd=ROOT, check=True, timeout=600,
            env={**os.environ, "TRAVELTIDE_DATA_DIR": str(webserver.data_dir)}, capture_output=True,
        )  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(report.as_uri())
        assert page.locator("h1").inner_text().startswith("TravelTide rewards")
        assert page.locator("svg").count() >= 4  # the four charts, inline
        assert "Do customer groups with distinct perk affinities exist?" in page.content()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)

        # The lineage of the report: every asset of the graph lies upstream of it.
        page.goto(f"{webserver.url}/assets/executive_summary?view=lineage&lineageScope=upstream&lineageDepth=10")
        page.get_by_text("session_cohort").first.wait_for(timeout=60_000)
        skip = page.get_by_role("button", name="Skip")  # a first-visit newsletter dialog may cover the graph
        if skip.count():
            skip.click()
        content = page.content()
        for name in ("raw_sessions", "session_cohort", "user_features", "perk_assignments", "executive_summary"):
            assert name in content
        page.screenshot(path=str(tmp_path / "asset_graph.png"))
        browser.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert (tmp_path / "asset_graph.png").stat().st_size > 10_000
