#!/usr/bin/env python3
"""Writes tests/sim/cdisc_pilot_rates.csv, the per-PT rates the whole-trial
null simulation (signal_null_sim --design=cdisc) draws from, from the CDISC
pilot ADaM data (ADSL, ADAE as CSV):

  python3 tests/sim/make_cdisc_rates.py tests/data/cdiscpilot01 \
      > tests/sim/cdisc_pilot_rates.csv

Safety population: ADSL SAFFL = "Y", arm TRT01A. Treatment-emergent records
(ADAE TRTEMFL = "Y"); a PT is AEDECOD within SOC AEBODSYS (as
`aesignal import adam` counts them). Per PT: subjects with the PT in the
placebo arm and in all arms, the share of its records that are serious
(AESER = "Y"), severe (AESEV = "SEVERE", grade 3 as the import maps it) and
related (AEREL PROBABLE/POSSIBLE, as the import maps them), and whether its
records carry the pilot's one customised query (CQ01NAM, "DERMATOLOGIC
EVENTS"), which the simulation treats as an AESI category.
"""
import collections
import csv
import os
import sys


def main(folder):
    adsl = csv.DictReader(open(os.path.join(folder, "adsl.csv")))
    arm = {r["USUBJID"]: r["TRT01A"] for r in adsl if r["SAFFL"] == "Y"}
    n_all = len(arm)
    n_placebo = sum(1 for a in arm.values() if a == "Placebo")
    subjects = collections.defaultdict(set)
    placebo = collections.defaultdict(set)
    records = collections.Counter()
    serious = collections.Counter()
    severe = collections.Counter()
    related = collections.Counter()
    aesi = set()
    for r in csv.DictReader(open(os.path.join(folder, "adae.csv"))):
        if r["TRTEMFL"] != "Y" or r["USUBJID"] not in arm:
            continue
        key = (r["AEBODSYS"].strip(), r["AEDECOD"].strip())
        subjects[key].add(r["USUBJID"])
        if arm[r["USUBJID"]] == "Placebo":
            placebo[key].add(r["USUBJID"])
        records[key] += 1
        serious[key] += r["AESER"] == "Y"
        severe[key] += r["AESEV"] == "SEVERE"
        # As the server counts it (counting rule 3): no AEREL is related.
        related[key] += r["AEREL"] in ("PROBABLE", "POSSIBLE", "")
        if r["CQ01NAM"].strip():
            aesi.add(key)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["soc", "pt", "placebo_subjects", "placebo_n", "subjects",
                  "n", "serious_share", "severe_share", "related_share",
                  "aesi"])
    for key in sorted(subjects):
        k = records[key]
        out.writerow([key[0], key[1], len(placebo[key]), n_placebo,
                      len(subjects[key]), n_all,
                      "%.4f" % (serious[key] / k), "%.4f" % (severe[key] / k),
                      "%.4f" % (related[key] / k), int(key in aesi)])


if __name__ == "__main__":
    main(sys.argv[1])
