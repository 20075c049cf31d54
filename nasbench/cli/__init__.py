"""The ``nasbench`` command line. Thin: parse, build a config, call one library function.

Exit codes: 0 success; 2 bad input (one-line message on stderr); 1 internal error;
130 interrupted. Set ``NASBENCH_DEBUG=1`` to see tracebacks.

Each command group lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from nasbench.core.errors import NasbenchError

#: Shown under every command's ``--help``.
EXIT_CODES_EPILOG = (
    "Exit codes: 0 success; 1 internal error (a bug; NASBENCH_DEBUG=1 shows the traceback); "
    "2 bad input (one line on stderr); 130 interrupted."
)

app = typer.Typer(
    name="nasbench",
    help="Fast, honest NAS benchmarks: build tables, query them, fit surrogates, compare strategies.",
    epilog=EXIT_CODES_EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

#: Modules that add commands to :data:`app` when imported.
COMMAND_MODULES: tuple[str, ...] = (
    "nasbench.cli.table_cmds",
    "nasbench.cli.build_cmd",
    "nasbench.cli.surrogate_cmds",
    "nasbench.cli.search_cmds",
    "nasbench.cli.estimate_cmds",
    "nasbench.cli.space_cmds",
    "nasbench.cli.suite_cmd",
)


def _register() -> None:
    for mod in COMMAND_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:  # a missing dependency inside the module is a real error
                raise
    _add_epilog(app)


def _add_epilog(group: typer.Typer) -> None:
    """Put the exit codes under the ``--help`` of every command and sub-group."""
    for cmd in group.registered_commands:
        cmd.epilog = cmd.epilog or EXIT_CODES_EPILOG
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            sub.typer_instance.info.epilog = sub.typer_instance.info.epilog or EXIT_CODES_EPILOG
            _add_epilog(sub.typer_instance)


def _is_usage_error(exc: BaseException) -> bool:
    return any(c.__name__ == "ClickException" for c in type(exc).__mro__) and hasattr(exc, "format_message")


def _fail(message: str, code: int) -> int:
    first = message.strip().splitlines()[0] if message.strip() else "error"
    print(f"nasbench: error: {first}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns (and exits with) the documented exit code."""
    _register()
    debug = bool(os.environ.get("NASBENCH_DEBUG"))
    try:
        rv = app(args=argv, prog_name="nasbench", standalone_mode=False)
        code = rv if isinstance(rv, int) else EXIT_OK
    except typer.Exit as exc:
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        code = _fail("interrupted", EXIT_INTERRUPTED)
    except NasbenchError as exc:
        if debug:
            raise
        code = _fail(str(exc), EXIT_BAD_INPUT)
    except Exception as exc:
        if _is_usage_error(exc):  # typer's (vendored) click usage errors
            if type(exc).__name__ == "NoArgsIsHelpError":
                print(exc.format_message(), file=sys.stderr)  # type: ignore[attr-defined]
                code = EXIT_BAD_INPUT
            else:
                code = _fail(exc.format_message(), EXIT_BAD_INPUT)  # type: ignore[attr-defined]
        elif debug:
            raise
        else:  # internal error: still one line
            code = _fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_INTERNAL)
    if argv is None:
        sys.exit(code)
    return code
