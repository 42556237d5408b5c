"""Write the demo's two cohorts of the UCI Wine data (as scikit-learn ships it) to examples/.

Data: Aeberhard, S. & Forina, M. (1991). Wine [Dataset]. UCI Machine Learning Repository,
https://doi.org/10.24432/C5PC7J, licensed CC BY 4.0; shipped by scikit-learn as
``sklearn.datasets.load_wine``.  178 wines of three cultivars, 13 chemical measurements.

The story: a model was built on wines of cultivars 0 and 1 (the reference); the supplier then
delivers cultivars 1 and 2 (the current cohort).  Cultivar 1's wines are split at random (seed 0)
between the two cohorts, so no row is in both.

    python examples/make_wine_cohorts.py   # needs scikit-learn; writes wine_reference.csv, wine_current.csv
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_wine

HERE = Path(__file__).resolve().parent

df = load_wine(as_frame=True).frame
rng = np.random.default_rng(0)
c1 = df.index[df.target == 1].to_numpy()
half = rng.permutation(c1)[: c1.size // 2]
ref = df[(df.target == 0) | df.index.isin(half)]
cur = df[(df.target == 2) | ((df.target == 1) & ~df.index.isin(half))]
cols = [c for c in df.columns if c != "target"]
ref[cols].to_csv(HERE / "wine_reference.csv", index=False)
cur[cols].to_csv(HERE / "wine_current.csv", index=False)
print(f"reference: {len(ref)} wines, current: {len(cur)} wines, {len(cols)} columns")
