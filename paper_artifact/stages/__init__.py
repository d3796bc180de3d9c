"""The pipeline, in order. Each stage names the config sections and earlier stages it depends on;
the runner reruns a stage when any of them changed."""

from ..runner import Stage
from . import active_learning, data, dft_check, figures, fit, go, refine

STAGES = [
    Stage(
        "data",
        "ingest/generate Mg_n structures, label them, paper filters, train/test split",
        data.run,
        ("reference", "data"),
    ),
    Stage(
        "fit",
        "two-stage gap_fit grid search (SOAP, then 2b) selected on the selection size",
        fit.run,
        ("reference", "data", "fit"),
        needs=("data",),
    ),
    Stage(
        "active_learning",
        "MH on the target size until the known GM is found; else add "
        "GAP isomers of the AL sizes labelled by the reference and refit",
        active_learning.run,
        # refine: its test relaxes with refine.fmax / max_steps (and n_lowest by default)
        ("reference", "data", "fit", "active_learning", "refine"),
        needs=("data", "fit"),
    ),
    Stage(
        "go",
        "minima hopping with the final GAP on every GO size; unique isomers",
        go.run,
        ("go",),
        needs=("active_learning",),
    ),
    Stage(
        "refine",
        "relax the lowest GAP isomers of every size with the reference calculator",
        refine.run,
        ("reference", "refine"),
        needs=("active_learning", "go"),
    ),
    Stage(
        "dft_check",
        "PySCF BP86/6-31G(d): E(Mg1), Gaussian Mg13 minima, DFT-relaxed isomers",
        dft_check.run,
        ("reference", "dft_check"),
        needs=("go",),
    ),
    Stage(
        "figures",
        "paper Figures 3-7, Tables 1-2 and structure pictures from the outputs",
        figures.run,
        ("analysis",),
        needs=("data", "fit", "active_learning", "go", "refine", "dft_check"),
    ),
]
