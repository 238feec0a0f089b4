"""Whole programs under mocks, each in a child process (:func:`tests.programs.run_program`), against
the emulator: the quickstart, the examples and the resource form. A ``StackReference`` reads what a
test hands it; Kubernetes resources echo their inputs."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import subprocess
import sys
import textwrap
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pulumi.runtime import rpc

from pulumi_modelarts.emulator import ModelArtsEmulator
from pulumi_modelarts.errors import InvalidInputError
from pulumi_modelarts.outputs import OUTPUT_FIELDS
from pulumi_modelarts.provider import STATE_FIELDS, VisualizationJobProvider
from pulumi_modelarts.validation import check_target
from tests import programs
from tests.checks import CANARY, CANARY_SECRETS, SECRET_CONFIG_KEYS, find_text, outputs_of
from tests.harness import serialized_provider
from tests.programs import JOB_TYPE, QUICKSTART_DIR, REPO_ROOT, ProgramRun, modelarts_requests, run_program

#: stack-reference and gitops need pulumi-kubernetes (the dev extras); their programs import it.
needs_kubernetes = pytest.mark.skipif(
    importlib.util.find_spec("pulumi_kubernetes") is None,
    reason="pulumi-kubernetes is not installed (pip install 'pulumi-kubernetes>=4.18,<5')",
)
EXTRA_OUTPUTS = ("visualization_job", "dashboard_tile")
EXAMPLE_NAMES = ("stack-reference", "lookup-by-name", "gitops")
STACK_REFERENCE_DIR, LOOKUP_DIR, GITOPS_DIR = (programs.EXAMPLES_DIR / name for name in EXAMPLE_NAMES)


def run_with_credentials(
    emulator: ModelArtsEmulator,
    directory: Path,
    project: str,
    settings: dict[str, str],
    secret_settings: tuple[str, ...] = (),
    **kwargs: Any,
) -> ProgramRun:
    """With the emulator's credentials in secret stack config and the environment, plus ``settings``
    (those named in ``secret_settings`` set as secrets)."""
    config = emulator.stack_config(include_project=False)
    config |= {f"{project}:{key}": value for key, value in settings.items()}
    secret_keys, env = (
        [*SECRET_CONFIG_KEYS, *(f"{project}:{key}" for key in secret_settings)],
        emulator.environ(),
    )
    return run_program(directory, project=project, config=config, secret_keys=secret_keys, env=env, **kwargs)


def run_quickstart(emulator: ModelArtsEmulator, job_id: str | None = "197", **kwargs: Any) -> ProgramRun:
    settings = {"jobId": job_id} if job_id is not None else {}
    return run_with_credentials(emulator, QUICKSTART_DIR, programs.QUICKSTART_PROJECT, settings, **kwargs)


def succeeded(run: ProgramRun) -> ProgramRun:
    """``run``, checked to have ended without an error."""
    assert run.error is None, run.error
    return run


def only(run: ProgramRun, type_: str) -> dict[str, Any]:
    resources = run.of_type(type_)
    assert len(resources) == 1, f"expected one {type_}, got {[r['name'] for r in resources]}"
    return resources[0]


def placed(kubernetes_object: dict[str, Any]) -> tuple[str, str]:
    return kubernetes_object["metadata"]["namespace"], kubernetes_object["metadata"]["name"]


def assert_no_canaries(run: ProgramRun, *, allowed_in_secrets: bool = False) -> None:
    """No credential in outputs, resources, the provider, output or error (or only as secrets)."""
    assert find_text([run.outputs, run.stdout, run.stderr, run.error], CANARY_SECRETS) == []
    assert find_text(run.resources, CANARY_SECRETS, outside_secrets=allowed_in_secrets) == []
    for provider in (resource["provider"] for resource in run.resources if resource["provider"]):
        assert not any(secret.encode() in base64.b64decode(provider) for secret in CANARY_SECRETS)


# -- the root quickstart -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("job_id", "title", "status"),
    [(197, "TensorBoard: apiTest-11", "up"), (212, "TensorBoard: mnist-insight", "down")],
    ids=["running-tensorboard", "completed-mindinsight"],
)
def test_quickstart_exports_every_field(
    emulator: ModelArtsEmulator, job_id: int, title: str, status: str
) -> None:
    run = succeeded(run_quickstart(emulator, str(job_id)))
    assert set(run.outputs) == {*OUTPUT_FIELDS, *EXTRA_OUTPUTS}
    expected = outputs_of(emulator, job_id)
    for name in OUTPUT_FIELDS:
        entry = run.outputs[name]
        assert entry["known"] and not entry["secret"], name
        # JSON keeps 197 and 197.0 apart: an int turned into a float would show here.
        assert (entry["value"], type(entry["value"])) == (expected[name], type(expected[name])), name
    # The object output keeps null fields (remaining_duration), so its key set never changes.
    assert run.value("visualization_job") == expected and set(expected) == set(OUTPUT_FIELDS)
    assert run.value("dashboard_tile") == {"title": title, "href": expected["service_url"], "status": status}
    # One GET of that job and nothing else against ModelArts.
    assert modelarts_requests(emulator) == [("GET", f"/v1/{emulator.project_id}/visualization-jobs/{job_id}")]
    job = only(run, JOB_TYPE)
    assert job["provider"] and not job["provider_secret"] and job["inputs"] == {"job_id": str(job_id)}
    assert_no_canaries(run)


def test_quickstart_exports_a_null_field_as_null_and_preview_sends_nothing(
    emulator: ModelArtsEmulator,
) -> None:
    added = emulator.add_job("bare-board", job_desc="", service_url=None, flavor=None, create_time=0)
    run = succeeded(run_quickstart(emulator, str(added["job_id"])))
    assert run.value("service_url") is None and run.value("flavor_code") is None
    assert run.value("visualization_job")["service_url"] is run.value("dashboard_tile")["href"] is None
    assert run.value("created_at") == "1970-01-01T00:00:00Z"
    emulator.clear_requests()
    preview = run_quickstart(emulator, "197", preview=True)
    # job_id is the (checked) input; everything read from the service is unknown until `up`.
    unknown = {name for name, entry in preview.outputs.items() if not entry["known"]}
    assert preview.error is None and unknown == {*OUTPUT_FIELDS, *EXTRA_OUTPUTS} - {"job_id"}
    assert preview.value("job_id") == 197 and emulator.requests == []


NO_JOB_ID = (
    "Missing required configuration variable 'modelarts-quickstart:jobId'",
    "pulumi config set modelarts-quickstart:jobId <value>`",
)
MISSING_JOB = (
    "get visualization job: visualization job not found (job 999, ",
    "Check the job ID and that it belongs to this project and region",
)


@pytest.mark.parametrize(
    ("job_id", "error", "start", "end"),
    [(None, {"ConfigMissingError", "RunError"}, *NO_JOB_ID), ("999", {"JobNotFoundError"}, *MISSING_JOB)],
    ids=["no-job-id", "missing-job"],
)
def test_quickstart_fails_with_one_line(
    emulator: ModelArtsEmulator, job_id: str | None, error: set[str], start: str, end: str
) -> None:
    run = run_quickstart(emulator, job_id)
    assert run.error is not None and run.error["type"] in error and error <= set(run.error["mro"])
    assert run.error["message"].startswith(start) and run.error["message"].rstrip().endswith(end)
    assert run.outputs == {} and (job_id is None or "\n" not in run.error["message"])  # Pulumi's own is two
    assert emulator.requests == [] if job_id is None else len(modelarts_requests(emulator)) == 1
    assert_no_canaries(run)


@pytest.mark.parametrize("key", ["jobId", "projectId", "dashboardTitle"])
def test_quickstart_keeps_a_setting_set_as_a_secret_secret_in_every_output_showing_it(
    emulator: ModelArtsEmulator, key: str
) -> None:
    """``pulumi config set --secret projectId …``: ``Config.get`` hands the value over plain."""
    settings = {"jobId": "197", "projectId": emulator.project_id, "dashboardTitle": "Boards"}
    project = programs.QUICKSTART_PROJECT
    run = succeeded(run_with_credentials(emulator, QUICKSTART_DIR, project, settings, (key,)))
    shown = {"dashboard_tile"} if key == "dashboardTitle" else set(run.outputs)
    assert {name for name, entry in run.outputs.items() if entry["secret"]} == shown
    assert (
        run.value("job_name") == "apiTest-11" and run.value("dashboard_tile")["title"] == "Boards: apiTest-11"
    )
    job = only(run, JOB_TYPE)
    assert sorted(job["secret_outputs"]) == (sorted(STATE_FIELDS) if key != "dashboardTitle" else [])


# -- examples/stack-reference and examples/lookup-by-name ----------------------------------------
def run_stack_reference(emulator: ModelArtsEmulator, referenced: dict[str, Any]) -> ProgramRun:
    """The consumer, with credentials in its config and environment that it must not need."""
    stack = "acme/modelarts-quickstart/prod"
    settings = {"namespace": "ml-boards", "quickstartStack": stack}
    project, references = "modelarts-stack-reference", {stack: referenced}
    return run_with_credentials(emulator, STACK_REFERENCE_DIR, project, settings, stack_references=references)


@needs_kubernetes
def test_stack_reference_feeds_the_quickstart_outputs_to_kubernetes(emulator: ModelArtsEmulator) -> None:
    host = "tb-197.modelarts.eu-de.example.com"
    emulator.update_job(197, service_url=f"https://{host}:8443/tensorboard/197/?lang=en")
    quickstart = succeeded(run_quickstart(emulator, "197"))
    # The quickstart's outputs as another stack sees them: top-level nulls are left out.
    referenced = {name: value for name, value in quickstart.values().items() if value is not None}
    run = succeeded(run_stack_reference(emulator, referenced))
    assert only(run, "pulumi:pulumi:StackReference")["inputs"]["name"] == "acme/modelarts-quickstart/prod"
    config_map = only(run, "kubernetes:core/v1:ConfigMap")["inputs"]
    assert placed(config_map) == ("ml-boards", "tensorboard-endpoint")
    data = {"SERVICE_URL": referenced["service_url"], "SERVICE_HOST": host, "JOB_NAME": "apiTest-11"}
    data |= {"JOB_ID": "197", "STATUS_NAME": "RUNNING", "IS_RUNNING": "true"}  # sent as a float: not "197.0"
    assert config_map["data"] == data
    service = only(run, "kubernetes:core/v1:Service")["inputs"]
    assert placed(service) == ("ml-boards", "tensorboard")
    assert service["spec"] == {"type": "ExternalName", "externalName": host}
    exported: dict[str, object] = {"config_map_name": "tensorboard-endpoint", "service_name": "tensorboard"}
    exported |= {"external_name": host, "in_cluster_dns": "tensorboard.ml-boards.svc.cluster.local"}
    exported |= {"job_is_running": True}
    assert run.values() == exported
    # The consumer reads state only: nothing beyond the quickstart's own GET reached ModelArts.
    assert len(modelarts_requests(emulator)) == 1
    assert_no_canaries(run)


@needs_kubernetes
def test_stack_reference_of_a_stopped_job_or_one_without_a_url(emulator: ModelArtsEmulator) -> None:
    url = "https://console.otc.t-systems.com/modelarts2/mindinsight/p/212/"
    stopped = {"job_id": 212.0, "job_name": "mnist-insight", "status_name": "COMPLETED", "is_running": False}
    run = succeeded(run_stack_reference(emulator, {**stopped, "service_url": url}))
    data = only(run, "kubernetes:core/v1:ConfigMap")["inputs"]["data"]
    assert (data["JOB_ID"], data["STATUS_NAME"], data["IS_RUNNING"]) == ("212", "COMPLETED", "false")
    assert only(run, "kubernetes:core/v1:Service")["inputs"]["spec"]["externalName"] == urlsplit(url).hostname
    # StackReference.require_output raises KeyError naming the output; nothing reaches the cluster.
    failed = run_stack_reference(emulator, stopped)
    assert failed.error is not None and failed.error["type"] == "KeyError"
    assert "service_url" in failed.error["message"]
    assert [resource["type"] for resource in failed.resources] == ["pulumi:pulumi:StackReference"]


def test_lookup_by_name_outputs_match_the_emulator(emulator: ModelArtsEmulator) -> None:
    flowers, board = outputs_of(emulator, 245), outputs_of(emulator, 197)

    def run_lookup(**config: str) -> ProgramRun:
        project = "modelarts-lookup-by-name"
        settings = {f"{project}:{key}": value for key, value in config.items()}
        return run_program(LOOKUP_DIR, project=project, config=settings, env=emulator.environ())

    run = succeeded(run_lookup(jobName="flowers_vis-2", probeJobId="999"))
    url = flowers["service_url"]
    exported = {"job_id": 245, "service_url": url, "status_name": "RUNNING", "output_form_service_url": url}
    exported |= {"created_at": flowers["created_at"], "output_form_is_running": True, "probe_job_id": "999"}
    exported |= {"probe_found": False, "probe_job_name": None, "running_job_ids": [197, 245]}
    exported |= {"running_job_names": ["apiTest-11", "flowers_vis-2"]}
    exported |= {"running_service_urls": {"197": board["service_url"], "245": url}}
    assert run.values() == exported
    assert run.resources == []  # functions only: nothing is registered, nothing is stored
    assert_no_canaries(run)
    missing = run_lookup(jobName="no-such-board")
    assert missing.error is not None and {"JobNotFoundError", "RunError"} <= set(missing.error["mro"])
    assert "\n" not in missing.error["message"]
    assert "no visualization job is named 'no-such-board'" in missing.error["message"]


# -- examples/gitops ---------------------------------------------------------------------------
PASSPHRASE = "canary-passphrase-fedcba9876543210"
GITOPS_KINDS = ["ClusterRoleBinding", "Secret", "ServiceAccount", "Stack"]


def run_gitops(**config: str) -> ProgramRun:
    base = {"projectRepo": "https://git.example.com/ml/pulumi-modelarts.git", "jobId": "197"}
    base |= {"accessKey": CANARY.access_key, "secretKey": CANARY.secret_key}
    config = {f"modelarts-gitops:{key}": value for key, value in {**base, **config}.items()}
    secret_keys = [f"modelarts-gitops:{key}" for key in ("accessKey", "secretKey", "backendCredential")]
    return run_program(GITOPS_DIR, project="modelarts-gitops", config=config, secret_keys=secret_keys)


def gitops_objects(**config: str) -> tuple[ProgramRun, dict[str, dict[str, Any]]]:
    """The run and the Kubernetes objects it sends, by kind; credentials reach them only as secrets."""
    run = succeeded(run_gitops(**config))
    objects = {resource["inputs"]["kind"]: resource["inputs"] for resource in run.resources}
    assert sorted(objects) == GITOPS_KINDS and len(run.resources) == len(GITOPS_KINDS)
    assert_no_canaries(run, allowed_in_secrets=True)
    assert find_text([run.resources, run.outputs], (PASSPHRASE,), outside_secrets=True) == []
    return run, objects


def manifest_objects() -> dict[str, Any]:
    documents = list(yaml.safe_load_all((GITOPS_DIR / "stack.yaml").read_text(encoding="utf-8")))
    assert sorted(document["kind"] for document in documents) == GITOPS_KINDS
    return {document["kind"]: document for document in documents}


@needs_kubernetes
@pytest.mark.parametrize(
    ("backend", "credential"),
    [("s3://state", "PULUMI_CONFIG_PASSPHRASE"), ("HTTPS://pulumi.example.com", "PULUMI_ACCESS_TOKEN")],
    ids=["diy", "self-hosted-cloud"],
)
def test_gitops_takes_its_config_and_passes_credentials_as_secrets_only(
    backend: str, credential: str
) -> None:
    """Every setting, on a DIY backend (a passphrase) or a self-hosted Pulumi Cloud (an access token);
    the defaults are the manifest's (tested below)."""
    config = {"namespace": "ml-ops", "projectId": "0a1b2c3", "backend": backend, "stack": "org/q/prod"}
    config |= {"stackResourceName": "vis", "region": "eu-nl", "backendCredential": PASSPHRASE}
    run, objects = gitops_objects(**config, resyncFrequencySeconds="120")
    binding, secret, account, stack = (objects[kind] for kind in GITOPS_KINDS)
    spec = stack["spec"]
    assert placed(account) == placed(stack) == ("ml-ops", "vis") and spec["serviceAccountName"] == "vis"
    frequency = spec["resyncFrequencySeconds"]
    assert (spec["backend"], spec["stack"], frequency) == (backend, "org/q/prod", 120)
    # The operator's Helm chart creates no workspace identity: the program binds its own.
    assert binding["metadata"]["name"] == "ml-ops:vis:system:auth-delegator"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "vis", "namespace": "ml-ops"}]
    assert placed(secret) == ("ml-ops", "vis-credentials")
    # The whole stringData is a secret input: encrypted in state, masked in the CLI.
    variables = {"HW_ACCESS_KEY": CANARY.access_key, "HW_SECRET_KEY": CANARY.secret_key}
    variables |= {"HW_PROJECT_ID": "0a1b2c3", credential: PASSPHRASE}
    assert secret["stringData"] == {"__secret": variables}
    region = {"HW_REGION_NAME": {"type": "Literal", "literal": {"value": "eu-nl"}}}
    refs = {key: {"type": "Secret", "secret": {"name": "vis-credentials", "key": key}} for key in variables}
    assert spec["envRefs"] == region | refs
    jsonpath = "-o jsonpath='{.status.outputs.service_url}'"
    assert run.value("read_service_url") == f"kubectl get stack vis -n ml-ops {jsonpath}"
    missing = run_gitops()  # without a backend credential: says what to set, creates nothing
    assert missing.error is not None and missing.error["type"] == "ConfigMissingError"
    assert "modelarts-gitops:backendCredential" in missing.error["message"] and missing.resources == []


@needs_kubernetes
@pytest.mark.parametrize("frequency", [0, 60])
def test_gitops_passes_the_resync_frequency_it_is_given(frequency: int) -> None:
    """0 is a frequency too (the operator runs every 60 s, its minimum, as for any lower one): the
    Stack gets the one set, never the example's default of 300."""
    _, objects = gitops_objects(backendCredential=PASSPHRASE, resyncFrequencySeconds=str(frequency))
    assert objects["Stack"]["spec"]["resyncFrequencySeconds"] == frequency


def test_gitops_manifest_has_what_the_operator_relies_on() -> None:
    """Periodic refresh-and-update without commits, string config, Secret references the Secret holds."""
    manifest = manifest_objects()
    spec, account = manifest["Stack"]["spec"], manifest["ServiceAccount"]["metadata"]
    assert (spec["refresh"], spec["destroyOnFinalize"]) == (True, False)
    # Without it the operator never runs a revision again once it succeeded (its isSynced check).
    assert spec["continueResyncOnCommitMatch"] is True
    assert isinstance(spec["resyncFrequencySeconds"], int) and spec["resyncFrequencySeconds"] >= 60
    assert spec["serviceAccountName"] == account["name"]
    assert manifest["ClusterRoleBinding"]["roleRef"]["name"] == "system:auth-delegator"
    subject = {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
    assert manifest["ClusterRoleBinding"]["subjects"] == [subject]
    secret = manifest["Secret"]
    assert secret["metadata"]["namespace"] == manifest["Stack"]["metadata"]["namespace"]
    referenced = {name: ref["secret"] for name, ref in spec["envRefs"].items() if ref["type"] == "Secret"}
    name = secret["metadata"]["name"]
    assert referenced and referenced == {key: {"name": name, "key": key} for key in secret["stringData"]}
    # spec.config takes JSON values: every value is written as a quoted YAML string.
    text = (GITOPS_DIR / "stack.yaml").read_text(encoding="utf-8")
    stack_node = next(
        node
        for node in yaml.compose_all(text)
        if isinstance(node, yaml.MappingNode) and "kind: Stack" in yaml.serialize(node)
    )
    config = _mapping_value(_mapping_value(stack_node, "spec"), "config")
    assert config.value and all(value.style in ('"', "'") for _, value in config.value)


def _mapping_value(node: yaml.MappingNode, key: str) -> Any:
    return next(value for name, value in node.value if name.value == key)


@needs_kubernetes
def test_gitops_manifest_matches_the_program() -> None:
    """stack.yaml is what the program creates, with placeholders where the program takes config."""
    manifest = manifest_objects()
    data, spec = manifest["Secret"]["stringData"], manifest["Stack"]["spec"]
    values = {"projectRepo": spec["projectRepo"], "jobId": spec["config"]["jobId"]}
    values |= {"accessKey": data["HW_ACCESS_KEY"], "secretKey": data["HW_SECRET_KEY"]}
    _, objects = gitops_objects(**values, backendCredential=data["PULUMI_ACCESS_TOKEN"])
    secret = objects.pop("Secret")
    assert secret["stringData"] == {"__secret": data}
    assert {**secret, "stringData": None} == {**manifest.pop("Secret"), "stringData": None}
    assert objects == manifest


# -- the resource form in a program ------------------------------------------------------------
#: ``__provider`` as every version of this package has stored it: existing stacks must never see a
#: ``~__provider`` diff. A by-reference pickle of the provider class with no state, not secret.
GOLDEN_PROVIDER = (
    "gASVQAAAAAAAAACMGXB1bHVtaV9tb2RlbGFydHMucHJvdmlkZXKUjBhWaXN1YWxpemF0aW9uSm9iUHJvdmlkZXKUk5QpgZR9lGIu"
)


def run_resources(
    emulator: ModelArtsEmulator, directory: Path, body: str | list[str], **kwargs: Any
) -> ProgramRun:
    """A program (text or lines) declaring ``VisualizationJob``s, with stack config naming the emulator."""
    body = textwrap.dedent(body) if isinstance(body, str) else "\n".join(body) + "\n"
    header = "import pulumi\nfrom pulumi_modelarts import VisualizationJob\n\nsecret = pulumi.Output.secret\n"
    programs.write_program(directory, header + body)
    config = {**emulator.stack_config(include_project=False), **kwargs.pop("config", {})}
    return run_program(directory, project="resources", config=config, **kwargs)


def registered(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {resource["name"]: resource for resource in run.resources}


def test_registration_is_what_the_sdks_dynamic_resource_registers(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    """The registration bypasses the SDK's per-resource pickling: compare it with the SDK's own."""
    body = f"""
        import pulumi.dynamic
        from pulumi_modelarts.provider import STATE_FIELDS, VisualizationJobProvider
        class SdkPath(pulumi.dynamic.Resource, module="modelarts", name="VisualizationJob"):
            pass
        def sdk(name, **targets):
            SdkPath(VisualizationJobProvider(), name, {{**dict.fromkeys(STATE_FIELDS), **targets}})
        place = dict(project_id="{emulator.project_id}", region="eu-de", endpoint="{emulator.url}")
        VisualizationJob("ours", job_id=197, **place)
        sdk("sdk", job_id=197, **place)
        VisualizationJob("ours-plain", job_id="212")
        sdk("sdk-plain", job_id="212", project_id=None, region=None, endpoint=None)
        """
    run = succeeded(run_resources(emulator, tmp_path, body, preview=True))
    resources = registered(run)
    for ours, theirs in (("ours", "sdk"), ("ours-plain", "sdk-plain")):
        mine, sdks = dict(resources[ours]), dict(resources[theirs])
        assert (mine.pop("name"), mine.pop("id"), sdks.pop("name"), sdks.pop("id")) == (ours, "", theirs, "")
        assert mine == sdks  # type token, inputs, __provider and its secretness, secret outputs
        assert (mine["type"], mine["provider"], mine["provider_secret"]) == (JOB_TYPE, GOLDEN_PROVIDER, False)
        assert mine["secret_outputs"] == []
    assert serialized_provider(VisualizationJobProvider()) == GOLDEN_PROVIDER  # in this process too


#: How a program (a notebook, an Automation API host, a test runner) may load the package again
#: before its first ``VisualizationJob``; the class bound at import is then not its module's any more.
RELOADS = {
    "reload-provider": 'importlib.reload(sys.modules["pulumi_modelarts.provider"])',
    "reimport-provider": 'del sys.modules["pulumi_modelarts.provider"]; import pulumi_modelarts.provider',
    "provider-unloaded": 'del sys.modules["pulumi_modelarts.provider"]',
    "reimport-package": '[sys.modules.pop(m) for m in list(sys.modules) if m.startswith("pulumi_modelarts")]',
}


@pytest.mark.parametrize("reload", RELOADS.values(), ids=RELOADS)
def test_provider_is_the_same_after_a_reload_and_beside_the_sdks_own_dynamic_resources(
    tmp_path: Path, emulator: ModelArtsEmulator, reload: str
) -> None:
    """A class that is not its module's is pickled by value, which the provider process cannot restore
    (it hangs). Other dynamic resources, made before and after ours, keep their own ``__provider``."""
    body = f"""
        import importlib, sys
        import pulumi.dynamic
        class Echo(pulumi.dynamic.ResourceProvider):
            def __init__(self):
                self.settings = {{"b": 2, "a": {{"z": 1, "y": 2}}}}  # pickled sorted by the SDK's path
            def create(self, props):
                return pulumi.dynamic.CreateResult("echo", props)
        class EchoResource(pulumi.dynamic.Resource, module="test", name="Echo"):
            pass
        def echo(name):
            EchoResource(Echo(), name, {{"v": 1}})
        echo("echo-before")
        {reload}
        VisualizationJob("class-bound-at-import", job_id=197)
        import pulumi_modelarts
        for n in range(3):
            echo(f"echo-{{n}}")
            pulumi_modelarts.VisualizationJob(f"class-of-the-package-{{n}}", job_id=212)
        importlib.reload(sys.modules["pulumi_modelarts.provider"])
        pulumi_modelarts.VisualizationJob("after-another-reload", job_id=230)
        echo("echo-after")
        """
    run = succeeded(run_resources(emulator, tmp_path, body, preview=True, timeout=60))
    ours = {resource["provider"] for resource in run.of_type(JOB_TYPE) if not resource["provider_secret"]}
    assert (ours, len(run.of_type(JOB_TYPE))) == ({GOLDEN_PROVIDER}, 5)
    echoes = [resource for resource in run.resources if resource["name"].startswith("echo")]
    assert len(echoes) == 5 and len({resource["provider"] for resource in echoes}) == 1


def test_thousands_of_resources_in_one_program() -> None:
    """The SDK's own path dies with RecursionError before 1,000 (benchmarks/sdk_pickle_growth.py)."""
    # The collector is off in the child only to keep this test short; it changes no result.
    command = [sys.executable, "-m", "benchmarks.scale", "2000", "--collector-off"]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert (result["registered"], result["types"]) == (2000, [JOB_TYPE])
    assert result["providers"] == 1  # one `__provider`, made once
    assert result["pickler_unchanged"]  # nothing left wrapped for the next dynamic resource


#: Resources with one secret input each (every one job 197, read from the emulator).
SECRET_INPUTS = {
    "secret-job-id": 'VisualizationJob("secret-job-id", job_id=secret(197))',
    "secret-project": 'VisualizationJob("secret-project", job_id=197, project_id=secret(PROJECT))',
    "secret-region": 'VisualizationJob("secret-region", job_id=197, region=secret("eu-de"))',
    "secret-endpoint": 'VisualizationJob("secret-endpoint", job_id=197, endpoint=secret(ENDPOINT))',
    "derived-from-secret": 'VisualizationJob("derived-from-secret", job_id=secret(1).apply(lambda _: 197))',
    "get-secret-endpoint": 'VisualizationJob.get("get-secret-endpoint", 197, endpoint=secret(ENDPOINT))',
    "get-secret-id": 'VisualizationJob.get("get-secret-id", secret(197))',
}


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "no_proxy"])
def test_a_child_process_gets_no_proxy_of_the_shell(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    """What `make bench` starts (no conftest there) reads its loopback servers directly too."""
    monkeypatch.setenv(variable, "http://127.0.0.1:9")
    assert variable not in programs.clean_environ()
    assert programs.clean_environ({variable: "proxy:3128"})[variable] == "proxy:3128"


@pytest.mark.slow
@pytest.mark.parametrize(
    "proxy",
    [
        {"HTTP_PROXY": "http://127.0.0.1:9"},
        {"http_proxy": "http://127.0.0.1:9", "no_proxy": "example.com"},
        {"ALL_PROXY": "socks5://127.0.0.1:1080"},
    ],
    ids=["HTTP_PROXY", "http_proxy+no_proxy", "ALL_PROXY-socks5"],
)
def test_the_tests_read_their_emulators_past_a_proxy_in_the_shell(proxy: dict[str, str]) -> None:
    """`make test` behind a proxy: a program run and an in-process client still read the emulator."""
    tests = [f"{__file__}::test_a_secret_input_makes_every_output_secret"]
    tests += [f"{Path(__file__).with_name('test_client.py')}::test_list_pages_filters_and_order"]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *tests]
    env = programs.clean_environ(proxy)
    done = subprocess.run(
        command, cwd=programs.REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "2 passed" in done.stdout, done.stdout[-2000:]


def test_a_secret_input_makes_every_output_secret(tmp_path: Path, emulator: ModelArtsEmulator) -> None:
    body = [
        f'PROJECT, ENDPOINT = "{emulator.project_id}", "{emulator.url}"',
        "jobs = {}",
        *(f'jobs["{name}"] = {code}' for name, code in SECRET_INPUTS.items()),
        'jobs["plain"] = VisualizationJob("plain", job_id=pulumi.Output.from_input(212), endpoint=ENDPOINT)',
        'VisualizationJob("own-list", job_id=secret(230), opts=pulumi.ResourceOptions(additional_secret_outputs=["x"]))',
        "for name, job in jobs.items():",
        '    pulumi.export(f"{name}.id", job.id)',
        "    pulumi.export(name, pulumi.Output.all(job.service_url, job.job_name, job.status))",
    ]
    run = succeeded(run_resources(emulator, tmp_path, body))
    resources = registered(run)
    for name in SECRET_INPUTS:
        # The engine marks outputs secret only by input name; these names cover every output.
        assert sorted(resources[name]["secret_outputs"]) == sorted(STATE_FIELDS), name
        # What the engine then hands the program: the read values, secret.
        assert run.outputs[name]["secret"] and run.value(name)[1:] == ["apiTest-11", 8], name
        # A resource ID cannot be secret in Pulumi: it stays plain.
        assert run.outputs[f"{name}.id"] == {"known": True, "secret": False, "value": "197"}, name
    assert resources["plain"]["secret_outputs"] == []  # an Output, but not a secret one
    assert not run.outputs["plain"]["secret"] and run.value("plain")[1:] == ["mnist-insight", 10]
    assert resources["own-list"]["secret_outputs"] == ["x", *STATE_FIELDS]  # the user's list kept


#: Transformations giving a resource ``additional_secret_outputs`` as a list of their own, made
#: before the program knows whether a target is secret: name -> what they do to ``args.opts``.
EXTRA = "pulumi.ResourceOptions(additional_secret_outputs=['x'])"
REBUILT_LISTS = {
    "merged-after": f"args.opts = pulumi.ResourceOptions.merge(args.opts, {EXTRA})",
    "merged-before": f"args.opts = pulumi.ResourceOptions.merge({EXTRA}, args.opts)",
    "concatenated": "args.opts.additional_secret_outputs = args.opts.additional_secret_outputs + ['x']",
}


@pytest.mark.parametrize("rebuilt", REBUILT_LISTS.values(), ids=REBUILT_LISTS)
def test_a_secret_input_makes_every_output_secret_through_transformations(
    tmp_path: Path, emulator: ModelArtsEmulator, rebuilt: str
) -> None:
    """A stack transformation (secret outputs of its own for every resource) runs before the program
    knows whether a target is secret, and its list is the one registered: every output is secret."""
    body = [
        "def transformation(args):",
        f"    {rebuilt}",
        "    return pulumi.ResourceTransformationResult(args.props, args.opts)",
        "pulumi.runtime.register_stack_transformation(transformation)",
        f'PROJECT, ENDPOINT = "{emulator.project_id}", "{emulator.url}"',
        *(code for name, code in SECRET_INPUTS.items() if name in ("secret-job-id", "get-secret-endpoint")),
        'VisualizationJob("plain", job_id=pulumi.Output.from_input(212))',
    ]
    run = succeeded(run_resources(emulator, tmp_path, body))
    resources = registered(run)
    for name in ("secret-job-id", "get-secret-endpoint"):
        assert sorted(resources[name]["secret_outputs"]) == sorted({"x", *STATE_FIELDS}), name
    assert resources["plain"]["secret_outputs"] == ["x"]


#: A ``modelarts:*`` key set as a secret in stack config -> whether outputs may show its value.
SECRET_CONFIG = {"projectId": True, "region": True, "endpoint": True, "endpoints": True, "accessKey": False}


@pytest.mark.parametrize(("key", "shown"), SECRET_CONFIG.items(), ids=SECRET_CONFIG)
def test_a_secret_in_stack_config_that_outputs_show_makes_every_output_secret(
    tmp_path: Path, emulator: ModelArtsEmulator, key: str, shown: bool
) -> None:
    """The engine cannot tell that an output shows a secret the provider read from stack config."""
    body = [
        "from pulumi_modelarts import get_visualization_job_output, get_visualization_jobs_output",
        'pulumi.export("board", VisualizationJob("board", 197).project_id)',
        'pulumi.export("seen", VisualizationJob.get("seen", 197).project_id)',
        'pulumi.export("by_id", get_visualization_job_output(job_id=197).project_id)',
        'pulumi.export("after", get_visualization_job_output(job_id=pulumi.Output.from_input(197)).project_id)',
        'pulumi.export("listed", get_visualization_jobs_output(status=8).project_id)',
    ]
    config = {
        "modelarts:projectId": emulator.project_id,
        "modelarts:endpoints": json.dumps({"modelarts": emulator.url}),
    }
    run = succeeded(run_resources(emulator, tmp_path, body, config=config, secret_keys=[f"modelarts:{key}"]))
    assert run.values() == dict.fromkeys(("board", "seen", "by_id", "after", "listed"), emulator.project_id)
    assert {name: entry["secret"] for name, entry in run.outputs.items()} == dict.fromkeys(run.outputs, shown)
    every_output = sorted(STATE_FIELDS) if shown else []
    for name in ("board", "seen"):
        assert sorted(registered(run)[name]["secret_outputs"]) == every_output, name


#: A project set as a secret in stack config, by its ID or its name -> its value (padded as a file
#: or shell may leave it, which is no part of it), and how a failed read names it.
SECRET_PROJECTS = {
    "projectId": ("\t{project}\n", "job 999, project [secret]"),
    "projectName": (" hidden-project-name\n", "no IAM project named '[secret]'"),
}


@pytest.mark.parametrize("key", SECRET_PROJECTS)
@pytest.mark.parametrize(
    "call",
    [
        'VisualizationJob("x", 999)',
        'VisualizationJob.get("x", 999)',
        "get_visualization_job_output(job_id=999)",
        "get_visualization_job(job_id=999)",
    ],
)
def test_a_failed_read_shows_no_place_set_as_a_secret_in_stack_config(
    tmp_path: Path, emulator: ModelArtsEmulator, call: str, key: str
) -> None:
    body = "from pulumi_modelarts import get_visualization_job, get_visualization_job_output\n"
    body += f'pulumi.export("x", {call}.job_name)\n'
    value, named = SECRET_PROJECTS[key]
    config = {f"modelarts:{key}": value.format(project=emulator.project_id)}
    run = run_resources(emulator, tmp_path, body, config=config, secret_keys=list(config))
    assert run.error is not None and named in run.error["message"], run.error
    assert config[f"modelarts:{key}"].strip() not in run.error["traceback"]


def secret_of(value: Any) -> dict[str, Any]:
    """``value`` as a secret in the engine's wire format: in state, exports and StackReferences."""
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


#: Secret sources of job 197 and status 8 (``{}`` takes the number), as programs come by them.
SECRET_SOURCES = {
    "nested": "secret(pulumi.Output.from_input({}))",
    "all": "pulumi.Output.all(secret({}), 1).apply(lambda values: values[0])",
    "config": 'pulumi.Config().require_secret("n{}")',
    "ref-get": 'ref.get_output("n{}")',
    "ref-require": 'ref.require_output("n{}")',
    "resource-output": "{{197: secret_board.job_id, 8: secret_board.status}}[{}]",
}
#: Forms taking a secret (``{}`` the source of 197, ``[]`` of 8), and secret overrides of the place;
#: an awaitable input is read once, whichever form takes it.
SECRET_FORMS = {
    "resource": "VisualizationJob(NAME, job_id={})",
    "get": "VisualizationJob.get(NAME, {})",
    "function": "get_visualization_job_output(job_id={})",
    "list": "get_visualization_jobs_output(status=[])",
    "resource-ref-project": 'VisualizationJob(NAME, job_id=197, project_id=ref.get_output("project"))',
    "get-ref-endpoint": 'VisualizationJob.get(NAME, 197, endpoint=ref.require_output("endpoint"))',
    "list-ref-project": 'get_visualization_jobs_output(status=8, project_id=ref.get_output("project"))',
    "get-awaitable": 'VisualizationJob.get(NAME, number(197), region=pulumi.Config().require_secret("region"))',
    "resource-awaitable": "VisualizationJob(NAME, job_id=number(197.0), project_id=secret(PROJECT))",
    "function-awaitable": "get_visualization_job_output(job_id=number(197), endpoint=secret(ENDPOINT))",
}


def test_secrets_from_every_source_stay_secret_in_every_form_and_in_the_stack_exports(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    """The exports the mocks record are what ``pulumi stack output`` shows: only a resource ID is plain."""
    calls = {
        f"{form}-{source}" if "{}" in call or "[]" in call else form: call.replace(
            "{}", code.format(197)
        ).replace("[]", code.format(8))
        for form, call in SECRET_FORMS.items()
        for source, code in SECRET_SOURCES.items()
        if ("{}" in call or "[]" in call) or source == "nested"
    }
    body = [
        "from pulumi_modelarts import get_visualization_job_output, get_visualization_jobs_output",
        f'PROJECT, ENDPOINT = "{emulator.project_id}", "{emulator.url}"',
        'ref = pulumi.StackReference("organization/quickstart/dev")',
        'secret_board = VisualizationJob("secret-board", job_id=secret(197))',
        "async def number(value):",
        "    return value",
        *(f"pulumi.export({name!r}, {call.replace('NAME', repr(name))})" for name, call in calls.items()),
    ]
    place = {"project": secret_of(emulator.project_id), "endpoint": secret_of(emulator.url)}
    references = {"organization/quickstart/dev": {"n197": secret_of(197.0), "n8": secret_of(8.0), **place}}
    config = {"resources:n197": "197", "resources:n8": "8", "resources:region": "eu-de"}
    options = {"config": config, "secret_keys": list(config), "stack_references": references}
    run = succeeded(run_resources(emulator, tmp_path, body, **options))
    resources = registered(run)
    for name in calls:
        exported = run.exports[name]
        if name.startswith(("resource", "get")):
            assert sorted(resources[name]["secret_outputs"]) == sorted(STATE_FIELDS), name
            assert exported["id"] == "197", name  # a resource ID cannot be secret in Pulumi
            assert all(
                exported[field] == secret_of(run.exports[name][field]["value"]) for field in STATE_FIELDS
            )
            assert exported["job_name"]["value"] == "apiTest-11", name
        else:
            assert exported == secret_of(exported["value"]), name
            jobs = exported["value"].get("jobs", [exported["value"]])
            assert [job["job_id"] for job in jobs] == ([197, 245] if name.startswith("list") else [197]), name
    assert modelarts_requests(emulator) and not [r for r in emulator.requests if r.method != "GET"]


#: ``VisualizationJob.get`` IDs in every form the constructor takes, all job 197.
GET_IDS = {
    "int": "197",
    "string": '"197"',
    "float": "197.0",
    "resource-output": "board.job_id",
    "stack-reference": 'ref.require_output("job_id")',
    "output-of-string": 'pulumi.Output.from_input("197")',
    "zero-padded": '"0197"',
    # The place spelt otherwise: read where it is, stored in its one spelling.
    "place-spelt-otherwise": '"197", endpoint=URL.upper() + "//", region="EU-DE", project_id=PROJECT.upper()',
}


def test_get_takes_a_job_id_in_every_form_the_constructor_does(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    ids = GET_IDS.items()
    body = [
        'board = VisualizationJob("board", job_id=197)',
        'ref = pulumi.StackReference("organization/quickstart/dev")',
        f"URL, PROJECT = {emulator.url!r}, {emulator.project_id!r}",
        *(f'pulumi.export("{name}", VisualizationJob.get("{name}", {id_}).job_name)' for name, id_ in ids),
    ]
    references = {"organization/quickstart/dev": {"job_id": 197}}
    run = succeeded(run_resources(emulator, tmp_path, body, stack_references=references))
    assert run.values() == dict.fromkeys(GET_IDS, "apiTest-11")
    assert {name: registered(run)[name]["resource_id"] for name in GET_IDS} == dict.fromkeys(GET_IDS, "197")
    place = {key: registered(run)["place-spelt-otherwise"]["outputs"][key] for key in ("endpoint", "region")}
    assert place == {"endpoint": emulator.url, "region": "eu-de"}


PLACE = {"endpoint": "URL", "region": '"eu-de"', "project_id": "PROJECT"}
#: ``VisualizationJob(name, job_id=197, opts=ResourceOptions(id=...))``, the read ``.get`` stands for:
#: the ``id`` option in every form ``.get`` takes, and targets only known after ``up`` (``later``).
ID_OPTIONS = {
    **{name: f"id={id_}" for name, id_ in GET_IDS.items() if name != "place-spelt-otherwise"},
    "secret": "id=secret(197)",
    **{f"later-{key}": f'id="197", {key}=later({value})' for key, value in PLACE.items()},
    "later-job-id": 'id="197", job_id=later(197)',
    "later-id": "id=later(197)",
}


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_an_id_option_takes_what_get_takes_and_reads_nothing_while_a_target_is_unknown(
    tmp_path: Path, emulator: ModelArtsEmulator, preview: bool
) -> None:
    """The SDK's server drops an unknown input and would read the configured place instead."""
    body = [
        f"URL, PROJECT = {emulator.url!r}, {emulator.project_id!r}",
        'board = VisualizationJob("board", job_id=197)',
        'ref = pulumi.StackReference("organization/quickstart/dev")',
        'place = pulumi.CustomResource("test:index:Place", "place", {"value": None})',
        "later = lambda value: place.value.apply(lambda _: value)  # unknown in preview",
        "def read(name, job_id=197, id=None, **targets):",
        "    job = VisualizationJob(name, job_id, **targets, opts=pulumi.ResourceOptions(id=id))",
        "    pulumi.export(name, job.job_name)",
        *(f"read({name!r}, {arguments})" for name, arguments in ID_OPTIONS.items()),
    ]
    refs = {"organization/quickstart/dev": {"job_id": 197.0}}
    run = succeeded(run_resources(emulator, tmp_path, body, stack_references=refs, preview=preview))
    unknown = {name for name in ID_OPTIONS if preview and name.startswith("later")}
    for name in ID_OPTIONS:
        output, resource = run.outputs[name], registered(run)[name]
        if name in unknown:  # the engine skips a read whose ID is unknown
            assert (output["known"], resource["resource_id"]) == (False, rpc.UNKNOWN), name
        else:
            assert (output["value"], resource["resource_id"]) == ("apiTest-11", "197"), name
        assert output["secret"] == (name == "secret") == bool(resource["secret_outputs"]), name
    # One read of the job serves every resource naming it (the board's create too, in up), as in
    # the engine's provider process; a read of an unknown place would have given a known ID above.
    assert modelarts_requests(emulator) == [("GET", f"/v1/{emulator.project_id}/visualization-jobs/197")]


#: ``VisualizationJob(name, job_id, opts=ResourceOptions(id=...))`` naming two jobs: name -> (job_id,
#: id option, how they are shown in the refusal); ``ref`` serves 197.0 as ``job_id`` and as ``secret``.
TWO_JOBS = {
    "ints": ("197", "212", "197 and resource ID 212"),
    "strings": ('"0197"', '"212"', "'0197' and resource ID '212'"),
    "output-id": ("197", "pulumi.Output.from_input(212.0)", "197 and resource ID 212.0"),
    "reference": ('ref.require_output("job_id")', '"212"', "197.0 and resource ID '212'"),
    "awaitable-id": ("197", "coroutine(212)", "197 and resource ID 212"),
    "secret-job-id": ("secret(197)", "212", "[secret] and resource ID [secret]"),
    "secret-id": ("197", "secret(212)", "[secret] and resource ID [secret]"),
    "secret-reference": ('ref.require_output("secret")', "212", "[secret] and resource ID [secret]"),
    "secret-project": ("197, project_id=secret(PROJECT)", "212", "197 and resource ID 212"),
}


@pytest.mark.parametrize(("job_id", "id_", "shown"), TWO_JOBS.values(), ids=TWO_JOBS)
def test_an_id_option_naming_another_job_fails_the_program_in_one_line_showing_no_secret(
    tmp_path: Path, emulator: ModelArtsEmulator, job_id: str, id_: str, shown: str
) -> None:
    """Refused in the program, not by the provider's read: the engine would show a secret job_id
    there (the provider takes no secrets) as the double it carried."""
    body = [
        f"PROJECT = {emulator.project_id!r}",
        'ref = pulumi.StackReference("other")',
        "async def coroutine(value):",
        "    return value",
        f'VisualizationJob("two", {job_id}, opts=pulumi.ResourceOptions(id={id_}))',
    ]
    references = {"other": {"job_id": 197.0, "secret": secret_of(197.0)}}
    run = run_resources(emulator, tmp_path, body, stack_references=references)
    assert run.error is not None and {"InvalidInputError", "RunError"} <= set(run.error["mro"]), run.error
    assert run.error["message"].startswith(f"job_id {shown} name two jobs. Give the ID once")
    assert "\n" not in run.error["message"] and modelarts_requests(emulator) == []


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_a_field_the_job_lacks_is_unknown_in_a_preview_of_the_resource_and_none_in_the_function(
    tmp_path: Path, emulator: ModelArtsEmulator, preview: bool
) -> None:
    """The SDK resolves a None output as unknown in a preview, of a job read then too (a ``.get``):
    the README points to the function form, whose result holds None in both."""
    added = emulator.add_job("bare-board", job_desc="", service_url=None, flavor=None, create_time=0)
    body = [
        "from pulumi_modelarts import get_visualization_job_output",
        f'job = VisualizationJob.get("job", {added["job_id"]})',
        'pulumi.export("name", job.job_name)',
        'pulumi.export("resource", job.service_url)',
        f'pulumi.export("function", get_visualization_job_output(job_id={added["job_id"]}).service_url)',
    ]
    run = succeeded(run_resources(emulator, tmp_path, body, preview=preview))
    assert run.value("name") == "bare-board"  # read in preview too
    assert run.outputs["resource"] == {"known": not preview, "secret": False, "value": None}
    assert run.outputs["function"] == {"known": True, "secret": False, "value": None}


#: A bad ``id`` option beside a good job_id, known in the program or once an ``Output`` is.
BAD_ID_OPTIONS = {"empty": '""', "text": '"abc"', "zero": "0", "output": 'pulumi.Output.from_input("abc")'}
BAD_ID_OPTIONS |= {"output-of-none": "pulumi.Output.from_input(None)"}
BAD_ID_OPTIONS |= {"awaitable": "pulumi.Output.from_input(-1).future()", "job-id-output": '"abc"'}


@pytest.mark.parametrize("id_", BAD_ID_OPTIONS.values(), ids=BAD_ID_OPTIONS)
def test_a_bad_id_option_is_refused_under_its_own_name(
    tmp_path: Path, emulator: ModelArtsEmulator, id_: str
) -> None:
    """Not as the job_id the program gave right (``job_id must be …, got 'abc'`` beside ``job_id=197``)."""
    job_id = "pulumi.Output.from_input(197)" if id_ == BAD_ID_OPTIONS["job-id-output"] else "197"
    body = f'VisualizationJob("x", {job_id}, opts=pulumi.ResourceOptions(id={id_}))\n'
    run = run_resources(emulator, tmp_path, body)
    assert run.error is not None and {"InvalidInputError", "RunError"} <= set(run.error["mro"]), run.error
    assert run.error["message"].startswith("id must be a whole number from 1 to 9007199254740991, got ")
    assert "\n" not in run.error["message"] and emulator.requests == []


@pytest.mark.parametrize(("id_", "refused"), [("212", True), ("197.0", False), ('"0197"', False)])
def test_get_with_an_id_option_too_reads_only_when_both_name_one_job(
    tmp_path: Path, emulator: ModelArtsEmulator, id_: str, refused: bool
) -> None:
    """``.get``'s own ID does not silently replace an ``id`` option naming another job."""
    body = f'pulumi.export("name", VisualizationJob.get("two", 197, pulumi.ResourceOptions(id={id_})).job_name)\n'
    run = run_resources(emulator, tmp_path, body)
    if refused:
        assert run.error is not None and {"InvalidInputError", "RunError"} <= set(run.error["mro"]), run.error
        assert run.error["message"].startswith(
            "job_id 197 and resource ID 212 name two jobs. Give the ID once"
        )
        assert modelarts_requests(emulator) == []
    else:
        assert succeeded(run).value("name") == "apiTest-11"
        assert registered(run)["two"]["resource_id"] == "197"


#: A failed read of a secret target, in the resource forms: name -> (call, what the error must not show).
SECRET_READ_FAILURES = {
    "resource-project": ('VisualizationJob("x", 197, project_id=secret("hiddenproject7"))', "hiddenproject7"),
    "resource-endpoint": ('VisualizationJob("x", 197, endpoint=secret("http://127.0.0.1:9/hidden"))', ":9"),
    "get-id": ('VisualizationJob.get("x", secret(99997))', "99997"),
    "id-option": ('VisualizationJob("x", 99997, opts=pulumi.ResourceOptions(id=secret(99997)))', "99997"),
}


@pytest.mark.parametrize(("call", "hidden"), SECRET_READ_FAILURES.values(), ids=SECRET_READ_FAILURES)
def test_a_failed_read_in_the_resource_forms_shows_no_secret_target(
    tmp_path: Path, emulator: ModelArtsEmulator, call: str, hidden: str
) -> None:
    """The provider is told which targets are secret (it receives them plain), as the function forms know."""
    run = run_resources(emulator, tmp_path, f'pulumi.export("x", {call}.job_name)\n')
    assert run.error is not None and "[secret]" in run.error["message"], run.error
    assert hidden not in run.error["message"] and hidden not in run.error["traceback"]


#: What a StackReference may deliver where a job ID is meant, and no job ID can be.
BAD_REFERENCED = {"negative": -197.0, "bool": True, "above-2**53": float(2**53 + 2)}
BAD_IDS = ['"12a"', "19.5", str(2**53), '" 197"', '"197.0"', '"0x1"', '""', "True", '"+197"', '"1_97"']
BAD_IDS += [
    "None",
    'ref.get_output("missing")',
    '" 197 "',
    '"\\u0661\\u0669\\u0667"',
    '"\\uff11\\uff19\\uff17"',
]  # Arabic-Indic, fullwidth


@pytest.mark.parametrize("bad", [*BAD_IDS, *(f'ref.require_output("{name}")' for name in BAD_REFERENCED)])
def test_get_with_a_bad_id_fails_with_one_line_naming_id_and_reads_nothing(
    tmp_path: Path, emulator: ModelArtsEmulator, bad: str
) -> None:
    """Named as ``.get``'s argument, ``id`` (the program names no ``job_id``), as an id option is."""
    body = f'ref = pulumi.StackReference("other")\nVisualizationJob.get("seen", {bad})\n'
    run = run_resources(emulator, tmp_path, body, stack_references={"other": BAD_REFERENCED})
    assert run.error is not None and {"InvalidInputError", "RunError"} <= set(run.error["mro"])
    assert run.error["message"].startswith(f"{WHOLE_ID}9007199254740991, got ")
    assert "\n" not in run.error["message"] and emulator.requests == []


#: What an ``Output`` may resolve to that the SDK cannot send as it is (it raises, or rounds
#: ``2**53 + 1`` to the double Check would show), in each form that takes one: ``{}`` the Output.
UNSENDABLE = {
    "decimal": ("job_id", "Decimal('197')", "VisualizationJob('x', job_id={})"),
    "fraction": ("id", "Fraction(197)", "VisualizationJob.get('x', {})"),
    "huge": ("job_id", "10**400", "VisualizationJob('x', job_id={})"),
    "above-2**53": ("job_id", "2**53 + 1", "VisualizationJob('x', job_id={})"),
    "bytes-id-option": ("id", "b'197'", "VisualizationJob('x', 197, opts=pulumi.ResourceOptions(id={}))"),
    "bool": ("id", "True", "VisualizationJob.get('x', {})"),
    "bytes-project": ("project_id", "b'p'", "VisualizationJob('x', 197, project_id={})"),
    "decimal-region": ("region", "Decimal(1)", "VisualizationJob.get('x', 197, region={})"),
}


@pytest.mark.parametrize(("key", "value", "form"), UNSENDABLE.values(), ids=UNSENDABLE)
def test_an_output_of_a_value_the_engine_cannot_carry_is_refused_as_the_value_itself(
    tmp_path: Path, emulator: ModelArtsEmulator, key: str, value: str, form: str
) -> None:
    """Not the SDK's ``ValueError``/``OverflowError`` nor Check's rounded double: the known value's line."""
    header = "from decimal import Decimal\nfrom fractions import Fraction\n"
    run = run_resources(emulator, tmp_path, header + form.format(f"pulumi.Output.from_input({value})") + "\n")
    with pytest.raises(InvalidInputError) as known:
        check_target(key, eval(value, {"Decimal": Decimal, "Fraction": Fraction}))
    assert run.error is not None and {"InvalidInputError", "RunError"} <= set(run.error["mro"]), run.error
    assert run.error["message"] == str(known.value) and "\n" not in run.error["message"]
    assert emulator.requests == []


#: A secret input each form refuses once known: name -> (call, start of the one-line message).
SECRET_REFUSED = {
    "resource-id": ("VisualizationJob('x', job_id=secret('Hidden-197'))", "job_id must be a whole number"),
    "resource-region": ("VisualizationJob('x', 197, region=secret('Hidden 197'))", "region may only contain"),
    "get-id-reference": (
        "VisualizationJob.get('x', ref.get_output('half'))",
        "id must be a whole number",
    ),
    "id-option": (
        "VisualizationJob('x', 197, opts=pulumi.ResourceOptions(id=secret('Hidden-197')))",
        "id must be a whole number",
    ),
    "function-name": (
        "get_visualization_job_output(job_name=secret('Hidden 197'))",
        "job_name may only contain",
    ),
    "function-status-reference": (
        "get_visualization_jobs_output(status=ref.get_output('half'))",
        "status must be a whole number",
    ),
    "function-project": (
        "get_visualization_job_output(job_id=197, project_id=secret('Hidden/197'))",
        "project_id may only contain",
    ),
}


@pytest.mark.parametrize(("call", "start"), SECRET_REFUSED.values(), ids=SECRET_REFUSED)
def test_a_refused_secret_input_is_not_shown(
    tmp_path: Path, emulator: ModelArtsEmulator, call: str, start: str
) -> None:
    """The refusal names the argument and shows ``[secret]``: an error line is logged in plain text."""
    body = "from pulumi_modelarts import get_visualization_job_output, get_visualization_jobs_output\n"
    body += f'ref = pulumi.StackReference("other")\npulumi.export("x", {call})\n'
    half = {rpc._special_sig_key: rpc._special_secret_sig, "value": 8.5}  # a secret output of 8.5
    run = run_resources(emulator, tmp_path, body, stack_references={"other": {"half": half}})
    assert run.error is not None and {"InvalidInputError", "RunError"} <= set(run.error["mro"]), run.error
    message = run.error["message"]
    assert message.startswith(start) and "got [secret]" in message and "\n" not in message, message
    assert "Hidden" not in run.error["traceback"] and "8.5" not in message
    assert modelarts_requests(emulator) == []


WHOLE, PROJECT_ID = "job_id must be a whole number from 1 to ", "project_id may only contain "
WHOLE_ID = WHOLE.removeprefix("job_")
PLAIN = "endpoint is an Output; get_visualization_jobs() takes plain values. "
PLAIN += "Use get_visualization_jobs_output()"
IMPORT = "a VisualizationJob cannot be imported: Python dynamic resources do not support import_. Drop"
OPTIONS = "opts must be a pulumi.ResourceOptions, got "
#: Known inputs each form refuses in the program, named as the argument and shown as given:
#: name -> (call, start of the one-line message).
REFUSED_IN_THE_PROGRAM = {
    "resource-id-above-2**53": ("VisualizationJob('big', 2**53 + 1)", WHOLE),
    "get-id-above-2**53": ("VisualizationJob.get('big', 2**53 + 1)", WHOLE_ID),
    "resource-project": ("VisualizationJob('p', 197, project_id=5)", PROJECT_ID),
    "get-project": ("VisualizationJob.get('p', 197, project_id=5.0)", PROJECT_ID),
    "get-region": (
        "VisualizationJob.get('r', pulumi.Output.from_input(197), region='eu/de')",
        "region may only ",
    ),
    # The SDK's server would fail an import as "KeyError: '__provider'" (pulumi/pulumi#16175).
    "resource-import": ("VisualizationJob('i', 197, opts=pulumi.ResourceOptions(import_='197'))", IMPORT),
    "get-import": ("VisualizationJob.get('i', 197, pulumi.ResourceOptions(import_='197'))", IMPORT),
    "resource-secret-import": (
        "VisualizationJob('i', secret(197), opts=pulumi.ResourceOptions(import_=secret('197')))",
        IMPORT,
    ),
    "resource-options-dict": ("VisualizationJob('o', 197, opts={'protect': True})", OPTIONS),
    # Options given where generated SDKs take them, second: shown as what they are, not an address.
    "options-as-job-id": (
        "VisualizationJob('o', pulumi.ResourceOptions(protect=True))",
        WHOLE + "9007199254740991, got <ResourceOptions object>. Use ",
    ),
    "get-invoke-options": ("VisualizationJob.get('o', 197, pulumi.InvokeOptions())", OPTIONS),
    "function-project": ("get_visualization_job(job_id=197, project_id='a/b')", PROJECT_ID),
    "function-region": ("get_visualization_jobs(region='eu de')", "region may only contain "),
    "direct-with-output": (
        "get_visualization_job(job_id=secret(197))",
        "job_id is an Output; get_visualization_job()",
    ),
    "direct-output-place": ("get_visualization_jobs(endpoint=pulumi.Output.from_input(ENDPOINT))", PLAIN),
    # Other awaitables are Inputs too: refused as such, not as a value that is no job ID.
    "direct-with-coroutine": (
        "get_visualization_job(job_id=pulumi.Output.from_input(197).future())",
        "job_id is awaitable; get_visualization_job() takes plain values. Use get_visualization_job_output()",
    ),
    "direct-with-task": (
        "get_visualization_jobs(status=__import__('asyncio').ensure_future(pulumi.Output.from_input(8).future()))",
        "status is awaitable; get_visualization_jobs()",
    ),
}


def test_known_bad_inputs_fail_the_program_in_one_line_under_their_own_name(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    """Refused where the program gives it: over the engine ``2**53 + 1`` reads ``9007199254740992.0``,
    ``.get`` has no Check, and an override is the function's argument, not a setting."""
    body = [
        "from pulumi_modelarts import get_visualization_job, get_visualization_jobs",
        f'ENDPOINT, seen = "{emulator.url}", {{}}',
        "calls = {",
        *(f"    {name!r}: lambda: {call}," for name, (call, _) in REFUSED_IN_THE_PROGRAM.items()),
        "}",
        "for name, call in calls.items():",
        "    try:",
        "        seen[name] = ['no error', call()]",
        "    except Exception as error:",
        "        seen[name] = [[cls.__name__ for cls in type(error).__mro__], str(error)]",
        'pulumi.export("seen", seen)',
    ]
    run = succeeded(run_resources(emulator, tmp_path, body))
    seen = run.value("seen")
    for name, (_, start) in REFUSED_IN_THE_PROGRAM.items():
        mro, message = seen[name]
        assert {"InvalidInputError", "RunError"} <= set(mro) and "\n" not in message, (name, mro, message)
        assert message.startswith(start) and "0x" not in message, (name, message)
    assert "got 9007199254740993" in seen["resource-id-above-2**53"][1]  # as given, not as a double
    assert run.resources == [] and emulator.requests == []
    assert "never awaited" not in run.stderr  # a coroutine refused is closed, not left to warn


def test_get_with_an_unknown_override_reads_nothing_in_preview(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    overrides = ("endpoint", "region", "project_id")
    body = f"""
        # An attribute another resource has only after `up`: unknown in preview.
        place = pulumi.CustomResource("test:index:Place", "place", {{"value": None}})
        for override in {overrides}:
            pulumi.export(override, VisualizationJob.get(override, 197, **{{override: place.value}}).job_name)
        pulumi.export("known", VisualizationJob.get("known", 212).job_name)
        """
    run = succeeded(run_resources(emulator, tmp_path, body, preview=True))
    for override in overrides:
        assert run.outputs[override]["known"] is False, override  # not the configured place's job
        assert registered(run)[override]["resource_id"] == rpc.UNKNOWN, override
    assert run.value("known") == "mnist-insight"
    assert modelarts_requests(emulator) == [("GET", f"/v1/{emulator.project_id}/visualization-jobs/212")]


@pytest.mark.parametrize("directory", [QUICKSTART_DIR, STACK_REFERENCE_DIR, LOOKUP_DIR, GITOPS_DIR])
def test_every_project_declares_its_config(directory: Path) -> None:
    """Pulumi.yaml: python, pip, a virtualenv; each key described, each key read declared, secrets secret."""
    project = yaml.safe_load((directory / "Pulumi.yaml").read_text(encoding="utf-8"))
    runtime, declared = project["runtime"], project.get("config", {})
    assert (runtime["name"], runtime["options"]["toolchain"]) == ("python", "pip")
    assert runtime["options"]["virtualenv"] in (".venv", "venv")
    assert all(entry.get("description") for entry in declared.values())
    # A secret key with a default fails `pulumi up` while unset (pulumi/pulumi#21865).
    assert [key for key, entry in declared.items() if entry.get("secret") and "default" in entry] == []
    program = (directory / "__main__.py").read_text(encoding="utf-8")
    read = set(re.findall(r"config\.(?:get|require|get_int|require_secret|get_secret)\(\"(\w+)\"", program))
    assert read and read <= set(declared), read - set(declared)
    # Keys that carry credentials are declared secret, so a plaintext `pulumi config set` of one
    # fails validation, and are read as secrets, so their values stay secret wherever they flow.
    declared_secret = {key for key, entry in declared.items() if entry.get("secret")}
    assert declared_secret == set(re.findall(r"config\.(?:require_secret|get_secret)\(\"(\w+)\"", program))
    secret_name = re.compile(r"(?i)(key|secret|token|passphrase|password|credential)$")
    named_secret = {key for key in declared if secret_name.search(key)}
    assert named_secret <= declared_secret, named_secret - declared_secret
    if directory != QUICKSTART_DIR:
        requirements = (directory / "requirements.txt").read_text(encoding="utf-8").splitlines()
        assert "pulumi>=3.272.0,<4" in requirements
        assert (directory / "README.md").is_file()


BENCHMARKS = REPO_ROOT / "benchmarks"
REPRODUCTIONS: dict[str, tuple[list[str], Path | None]] = {}
REPRODUCTIONS["pickle-growth-as-module"] = (["-m", "benchmarks.sdk_pickle_growth", "200"], REPO_ROOT)
REPRODUCTIONS["pickle-growth-as-script"] = ([str(BENCHMARKS / "sdk_pickle_growth.py"), "200"], None)
REPRODUCTIONS["output-wait-as-script"] = ([str(BENCHMARKS / "sdk_output_wait.py"), "20", "apart"], None)


@pytest.mark.parametrize(("argv", "cwd"), REPRODUCTIONS.values(), ids=REPRODUCTIONS)
def test_the_sdk_reproductions_run_as_documented_or_as_scripts(
    argv: list[str], cwd: Path | None, tmp_path: Path
) -> None:
    """The reproductions under benchmarks/ run from anywhere (the first shows pulumi/pulumi#17803)."""
    done = subprocess.run([sys.executable, *argv], cwd=cwd or tmp_path, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:].decode()
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "sdk_pickle_growth" in argv[-2]:
        assert [batch["depth"] for batch in result["batches"]] == [100, 200] and result["failure"] == {}
    else:
        assert isinstance(result, float) and result > 0
