"""``python -m pulumi_modelarts``: the ``modelarts-vis`` CLI, when its console script is not on PATH."""

from pulumi_modelarts import cli

if __name__ == "__main__":
    cli.main()
