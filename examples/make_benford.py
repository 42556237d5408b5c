"""Regenerate examples/benford.csv: leading digits of the first 1000 Fibonacci numbers.

Fibonacci numbers follow Benford's law, P(d) = log10(1 + 1/d); the file holds
their observed leading-digit counts beside Benford's probabilities and the
uniform distribution over 1..9 (the naive guess).
"""

import csv
import math
from pathlib import Path

counts = [0] * 10
a, b = 1, 1
for _ in range(1000):
    counts[int(str(a)[0])] += 1
    a, b = b, a + b

with open(Path(__file__).with_name("benford.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["digit", "fibonacci_count", "benford", "uniform"])
    for d in range(1, 10):
        w.writerow([d, counts[d], repr(math.log10(1 + 1 / d)), repr(1 / 9)])
