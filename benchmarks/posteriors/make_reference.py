"""Means and sds of posteriordb's reference draws -> benchmarks/posteriors/reference.json.

Usage: python benchmarks/posteriors/make_reference.py DIR, where DIR holds the reference draws
``<posterior>.json.zip`` (posterior_database/reference_posteriors/draws/draws/ of a checkout of
github.com/stan-dev/posteriordb; 4.6 MB for the nine used here, so they are not copied).
"""

import json
import sys
import zipfile
from pathlib import Path

import numpy as np

NAMES = [
    "kidiq-kidscore_interaction",
    "earnings-earn_height",
    "arK-arK",
    "arma-arma11",
    "garch-garch11",
    "nes2000-nes",
    "sblrc-blr",
    "gp_pois_regr-gp_regr",
    "low_dim_gauss_mix-low_dim_gauss_mix",
]


def main(src: str) -> None:
    out = {}
    for name in NAMES:
        path = Path(src) / f"{name}.json.zip"
        if not path.exists():
            sys.exit(f"{path} not found: give the folder reference_posteriors/draws/draws of a posteriordb checkout")
        with zipfile.ZipFile(path) as z:
            chains = json.loads(z.read(z.namelist()[0]))
        names = list(chains[0])
        draws = np.array([[v for c in chains for v in c[k]] for k in names])
        out[name] = {"names": names, "mean": draws.mean(axis=1).tolist(), "sd": draws.std(axis=1, ddof=1).tolist(), "draws": draws.shape[1]}
    with open(Path(__file__).parent / "reference.json", "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
