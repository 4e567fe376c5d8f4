"""`liftbench`: the command line. Each command (group) lives in `benchmark/commands/<name>.py` as
`group` or `command`.

Errors a user can cause (`LiftbenchError`) print one line and exit with code 2.
"""

from __future__ import annotations

import importlib
import sys

import click

from tasks.errors import LiftbenchError

COMMAND_MODULES = ("tasks", "methods", "data", "prompts", "run", "results", "report")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="liftbench")
def cli() -> None:
    """liftbench: LIFT (language-interfaced fine-tuning) against classical learners, reproducibly."""


for _name in COMMAND_MODULES:
    _module = importlib.import_module(f"benchmark.commands.{_name}")
    cli.add_command(getattr(_module, "group", None) or _module.command)


def main(argv: list[str] | None = None) -> int:
    try:
        # Outside standalone mode click returns (not raises) the code of `ctx.exit(n)`.
        code = cli.main(args=argv, prog_name="liftbench", standalone_mode=False)
    except LiftbenchError as err:
        click.echo(f"liftbench: error: {err}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("liftbench: aborted", err=True)
        return 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Exit as exit_:
        return exit_.exit_code
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
