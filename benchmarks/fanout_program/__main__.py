"""Fan-out program: ``get_visualization_job_output`` for every ID in ``fanout:jobIds``.

Run under mocks by tests/programs.py. ``started``/``finished`` are ``time.monotonic()``
(system-wide on Linux, so comparable with the emulator's request log in the parent process);
``cpu`` is the CPU time this process spent between the two.
"""

import time

import pulumi

from pulumi_modelarts import get_visualization_job_output

started, cpu_started = time.monotonic(), time.process_time()
job_ids = [int(text) for text in pulumi.Config().require("jobIds").split(",")]
results = [get_visualization_job_output(job_id=job_id) for job_id in job_ids]
done = pulumi.Output.all(*results).apply(lambda _: (time.monotonic(), time.process_time() - cpu_started))

pulumi.export("started", pulumi.Output.from_input(started))
pulumi.export("finished", done.apply(lambda pair: pair[0]))
pulumi.export("cpu", done.apply(lambda pair: pair[1]))
pulumi.export(
    "names", pulumi.Output.all(*results).apply(lambda values: {str(r.job_id): r.job_name for r in values})
)
