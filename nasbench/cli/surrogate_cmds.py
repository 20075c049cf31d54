"""``nasbench surrogate``: list, fit, predict and evaluate surrogates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nasbench.cli import app
from nasbench.cli._common import JSON_OPTION, echo_json, fmt_metric
from nasbench.core.errors import ConfigError

surrogate_app = typer.Typer(
    help="Fit, save, query and evaluate performance predictors.", no_args_is_help=True
)
app.add_typer(surrogate_app, name="surrogate")

PARAMS_OPTION = typer.Option(None, "--params", help="Surrogate constructor parameters as a JSON object.")
FEATURES_OPTION = typer.Option(
    "auto",
    "--features",
    help="Architecture features, +-separated: encoding (the space's defaults), scores (--scores files), "
    "or the space's encodings; e.g. encoding+scores.",
)
SCORES_OPTION = typer.Option(
    [], "--scores", help="Score file from `nasbench estimate proxies|oneshot` (repeatable); implies +scores."
)


def _params(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise ConfigError(f"--params must be a JSON object, got {text!r}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"--params must be a JSON object, got {text!r}")
    return value


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ConfigError(f"--train-sizes must be comma-separated integers, got {text!r}") from None
    if not sizes:
        raise ConfigError("--train-sizes needs at least one size")
    return sizes


@surrogate_app.command("list")
def list_cmd(as_json: bool = JSON_OPTION) -> None:
    """List the registered surrogates."""
    from surrogates import DEFAULT_SURROGATE
    from surrogates.api import list_surrogates

    rows = list_surrogates()
    if as_json:
        echo_json({"default": DEFAULT_SURROGATE, "surrogates": rows})
        return
    for r in rows:
        mark = "*" if r["name"] == DEFAULT_SURROGATE else " "
        typer.echo(f"{mark} {r['name']:<10} {r['description']}")


@surrogate_app.command("fit")
def fit_cmd(
    table: Annotated[Path, typer.Argument(help="Table file (.parquet).")],
    model: str = typer.Option("combined", "--model", help="Surrogate name (see `nasbench surrogate list`)."),
    out: Path = typer.Option(..., "--out", help="Output model file (.skops)."),
    train_size: int | None = typer.Option(
        None, "--train-size", help="Fit on this many random architectures."
    ),
    random_state: int = typer.Option(0, "--random-state", help="Seed of the subset and the model."),
    params: str | None = PARAMS_OPTION,
    features: str = FEATURES_OPTION,
    scores: list[Path] = SCORES_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Fit a surrogate on a table's full validation curves and save it (skops, never pickle)."""
    from surrogates.api import fit_and_save

    meta = fit_and_save(
        table, model, out, train_size=train_size, random_state=random_state, params=_params(params),
        features=features, score_files=scores,
    )  # fmt: skip
    if as_json:
        echo_json(meta)
        return
    typer.echo(
        f"wrote {out}: {model} fitted on {meta['n_train']} architectures of {meta.get('dataset')} "
        f"({meta['space']['name']} space) in {meta['fit_s']:.1f} s"
    )


@surrogate_app.command("predict")
def predict_cmd(
    model: Annotated[Path, typer.Argument(help="Model file written by `nasbench surrogate fit`.")],
    archs: list[str] = typer.Option(
        ..., "--archs", help="Architecture string, catalog id or index; repeat for more."
    ),
    table: Path | None = typer.Option(None, "--table", help="Check that this table's space is the model's."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Predict the final objective (mean, std, 90% interval) of architectures: validation
    accuracy, or the metric a table minimises (e.g. a loss) for a model fitted on one."""
    from surrogates.api import predict_archs

    result = predict_archs(model, archs, table_path=table)
    if as_json:
        echo_json(result)
        return
    metric = result.get("metric", "valid_acc")
    for p in result["predictions"]:
        lo, hi = p["interval"]
        typer.echo(
            f"{fmt_metric(p['mean'], metric, 7)} +- {fmt_metric(p['std'], metric, 5)}  "
            f"[{fmt_metric(lo, metric, 6)}, {fmt_metric(hi, metric, 6)}]  {p['arch']}"
        )


@surrogate_app.command("eval")
def eval_cmd(
    table: Annotated[Path, typer.Argument(help="Table file (.parquet).")],
    model: str = typer.Option("combined", "--model", help="Surrogate name."),
    train_sizes: str = typer.Option(
        "100,200,1000", "--train-sizes", help="Comma-separated training-set sizes."
    ),
    observed_fraction: float | None = typer.Option(
        None,
        "--observed-fraction",
        help="Share of the final epoch observed on held-out rows, in (0, 1); omit for architecture only.",
    ),
    repeats: int = typer.Option(5, "--repeats", help="Random splits per size."),
    seed: int = typer.Option(0, "--seed", help="Base seed of splits and models."),
    params: str | None = PARAMS_OPTION,
    features: str = FEATURES_OPTION,
    scores: list[Path] = SCORES_OPTION,
    out: Path | None = typer.Option(None, "--out", help="Also write the JSON result here."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines on stderr."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Fit on random training architectures, score on all others, next to the baselines."""
    from nasbench.core.io import check_output_file, write_json
    from nasbench.tables.table import ResultTable
    from surrogates.api import feature_params
    from surrogates.evaluate import EvalConfig, evaluate

    if out is not None:
        check_output_file(out)  # before the evaluation, not after it
    tbl = ResultTable.load(table)
    config = EvalConfig(
        model=model,
        train_sizes=_sizes(train_sizes),
        observed_fraction=observed_fraction,
        repeats=repeats,
        seed=seed,
        params={**_params(params), **feature_params(tbl.space, features, scores)},
    )
    progress = None if quiet else (lambda line: typer.echo(line, err=True))
    result = evaluate(tbl, config, progress=progress)
    if out is not None:
        write_json(out, result)
    if as_json:
        echo_json(result)
        return
    typer.echo(format_eval(result))


def format_eval(result: dict) -> str:
    """A plain-text table of an evaluation result."""
    cols = ("kendall_tau", "spearman", "r2", "mae", "top1_precision", "top5_precision", "coverage90")
    head = ["size", "predictor", "tau", "spearman", "R2", "MAE", "top1%", "top5%", "cov90", "fit_s"]
    lines = [
        f"{result['table']['dataset']}: {result['protocol']['target']}, observed epochs "
        f"{result['protocol']['observed_epochs'] or 'none'}, {result['protocol']['repeats']} repeats",
        "  ".join(f"{h:>9}" for h in head),
    ]
    for e in result["results"]:
        rows = [(result["protocol"]["model"], e["model"], e["fit_s"]["mean"])]
        rows += [(n, m, None) for n, m in e["baselines"].items()]
        for name, m, fit in rows:
            vals = [f"{m[c]['mean']:9.3f}" if m[c]["mean"] is not None else f"{'-':>9}" for c in cols]
            lines.append(
                "  ".join(
                    [f"{e['train_size']:>9}", f"{name:>9}", *vals, f"{fit:9.1f}" if fit else f"{'':>9}"]
                )
            )
    return "\n".join(lines)


@surrogate_app.command("certify")
def certify_cmd(
    table: Annotated[Path, typer.Argument(help="Table file (.parquet) with at least 2 seeds.")],
    model: str = typer.Option("combined", "--model", help="Surrogate name (see `nasbench surrogate list`)."),
    out: Path = typer.Option(..., "--out", help="Output folder (certificate.md, certificate.json, PNGs)."),
    strategies: str = typer.Option(
        "",
        "--strategies",
        help="Strategies to add to rs,re,ls,bananas (comma-separated; bridged ones too, e.g. optuna:tpe).",
    ),
    seeds: int = typer.Option(5, "--seeds", help="Runs per strategy and backend."),
    budget: str = typer.Option(
        "50", "--budget", help="Budget of every run: evaluations (50) or time (5e5s)."
    ),
    train_sizes: str = typer.Option(
        "100,200,1000", "--train-sizes", help="Held-out fit: comma-separated training-set sizes."
    ),
    repeats: int = typer.Option(3, "--repeats", help="Held-out fit: random splits per size."),
    seed: int = typer.Option(0, "--seed", help="Base seed of splits, models, runs and samples."),
    processes: int = typer.Option(2, "--processes", help="Worker processes of the optimiser runs."),
    noise: str = typer.Option(
        "seed",
        "--noise",
        help="Table backend: 'seed' (one stored seed per evaluation, default) or 'mean' (seed means, "
        "noise-free like the surrogate).",
    ),
    attach: bool = typer.Option(
        False,
        "--attach",
        help="Also copy certificate.json beside the table as TABLE.MODEL.certificate.json, where "
        "`leaderboard` and `--evaluator surrogate` find it.",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines on stderr."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Certify a surrogate benchmark: held-out fit against the noise ceiling, optimisers on the
    surrogate and on the table, sanity checks.

    Exit codes: 0 done, 2 bad input (a table with fewer than 2 seeds, a budget of zero, an
    unknown strategy or model).
    """
    from nasbench.experiments.certify import CertifyConfig, certify, strategy_list

    config = CertifyConfig(
        model=model,
        strategies=strategy_list(strategies.split(",")),
        seeds=seeds,
        budget=budget,
        train_sizes=_sizes(train_sizes),
        repeats=repeats,
        seed=seed,
        processes=processes,
        noise=noise,
    )
    progress = None if quiet or as_json else (lambda line: typer.echo(line, err=True))
    cert = certify(table, out, config, attach=attach, progress=progress)
    if as_json:
        echo_json(cert)
        return
    lines = [cert["headline"], cert["beats_noise_ceiling"]["line"]]
    lines += [f"weak: {w}" for w in cert["weak"]]
    if "attached" in cert:
        lines.append(f"attached {cert['attached']}")
    lines.append(f"wrote {out / 'certificate.md'}, certificate.json, fit.png, trajectories.png")
    typer.echo("\n".join(lines))
