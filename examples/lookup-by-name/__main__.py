"""Look visualization jobs up with the function forms instead of the ``VisualizationJob`` resource.

Functions store nothing in state: they read on every preview and up, like a Terraform data
source. Four ways of calling them are shown:

1. ``get_visualization_job(job_name=...)``: the direct form. Its result is a plain Python object,
   usable in ``if`` statements right away; it takes plain values only.
2. ``get_visualization_job_output(job_name=...)``: the output form. It takes ``Input`` values
   (config, other resources' outputs) and returns an ``Output``; while an input is unknown in
   preview it returns an unknown result and sends nothing.
3. ``get_visualization_job(job_id=..., allow_missing=True)``: a probe that reports ``found=False``
   instead of failing the program when the job does not exist.
4. ``get_visualization_jobs(status=JobStatus.RUNNING)``: every job in a status (empty list when
   none is).

Credentials, region and endpoint come from ``modelarts:*`` stack config or the ``HW_*`` /
``MODELARTS_ENDPOINT`` environment variables (see the README).
"""

from __future__ import annotations

import pulumi

from pulumi_modelarts import (
    GetVisualizationJobResult,
    JobStatus,
    get_visualization_job,
    get_visualization_job_output,
    get_visualization_jobs,
)

config = pulumi.Config()
job_name = config.require("jobName")

# 1. Direct form: the job is read while the program runs; a missing name fails the program with
#    one line (JobNotFoundError), and two jobs of that name fail it with their IDs.
job = get_visualization_job(job_name=job_name)
if not job.is_running:
    pulumi.log.warn(f"visualization job {job.job_name} ({job.job_id}) is {job.status_name}: its UI is down")

pulumi.export("job_id", job.job_id)
pulumi.export("service_url", job.service_url)
pulumi.export("status_name", job.status_name)
pulumi.export("created_at", job.created_at)

# 2. Output form: the same lookup, taking the name as an Input. Chain it from any Output.
looked_up = get_visualization_job_output(job_name=job_name)
pulumi.export("output_form_service_url", looked_up.apply(lambda result: result.service_url))
pulumi.export("output_form_is_running", looked_up.apply(lambda result: result.is_running))

# 3. Probe a job that may not exist: found is False, and every output None, when it does not.
probe_id = config.get("probeJobId") or str(job.job_id)
probe: GetVisualizationJobResult = get_visualization_job(job_id=probe_id, allow_missing=True)
pulumi.export("probe_job_id", probe_id)
pulumi.export("probe_found", probe.found)
pulumi.export("probe_job_name", probe.job_name)

# 4. Plural form: every running job, sorted by ID.
running = get_visualization_jobs(status=JobStatus.RUNNING)
pulumi.export("running_job_ids", [item.job_id for item in running.jobs])
pulumi.export("running_job_names", [item.job_name for item in running.jobs])
pulumi.export("running_service_urls", {str(item.job_id): item.service_url for item in running.jobs})
