"""Regenerate ``parties.csv`` and ``regions.csv`` of this folder (run by hand, not by the build).

    pip download country_converter==1.3.2 --no-deps -d /tmp/coco && unzip /tmp/coco/*.whl -d /tmp/coco/x
    pip install babel==2.18.0
    python data/parties/generate.py /tmp/coco/x/country_converter/country_data.tsv

Inputs, each named in README.md:

* ISO 3166-1 alpha-2 and numeric codes: pycountry 26.2.16 (Debian iso-codes);
* the two Party lists (ISO 3166-1 alpha-3) of ``data/sources/reference-facts.md`` section 5;
* ``m49-source.txt``: each country's most specific UN M49 region, and ``HIERARCHY`` below
  (intermediate region -> sub-region -> region, with codes), both copied from
  lukes/ISO-3166-Countries-with-Regional-Codes, ``all/all.csv`` at commit
  b6e238f1e1ab5ac5ba11dfb37612efcecce9b3a6 (M49 retrieved from UNSD 8 December 2020);
* ``country_data.tsv`` of the PyPI package country_converter 1.3.2, a second reading of M49
  (column ``UNregion``, which it takes from UNSD's M49 page) and of ISO alpha-2 and M49 numeric
  codes: the script prints every Party on which the two readings disagree (the lukes one wins);
* region and European Union names in zh, fr, es, ru, ar: Unicode CLDR 47 territory names,
  as shipped by the PyPI package Babel 2.18.0.

It writes nothing when an input disagrees (a Party without an M49 region, an unknown region name).
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FACTS = HERE.parent / "sources" / "reference-facts.md"
LANGS = ("zh", "fr", "es", "ru", "ar")

#: M49: code -> (English name, level, parent code); from the lukes table named above
HIERARCHY: dict[str, tuple[str, str, str]] = {
    "001": ("World", "world", ""),
    "002": ("Africa", "region", "001"),
    "019": ("Americas", "region", "001"),
    "142": ("Asia", "region", "001"),
    "150": ("Europe", "region", "001"),
    "009": ("Oceania", "region", "001"),
    "015": ("Northern Africa", "sub-region", "002"),
    "202": ("Sub-Saharan Africa", "sub-region", "002"),
    "014": ("Eastern Africa", "intermediate-region", "202"),
    "017": ("Middle Africa", "intermediate-region", "202"),
    "018": ("Southern Africa", "intermediate-region", "202"),
    "011": ("Western Africa", "intermediate-region", "202"),
    "419": ("Latin America and the Caribbean", "sub-region", "019"),
    "029": ("Caribbean", "intermediate-region", "419"),
    "013": ("Central America", "intermediate-region", "419"),
    "005": ("South America", "intermediate-region", "419"),
    "021": ("Northern America", "sub-region", "019"),
    "143": ("Central Asia", "sub-region", "142"),
    "030": ("Eastern Asia", "sub-region", "142"),
    "035": ("South-eastern Asia", "sub-region", "142"),
    "034": ("Southern Asia", "sub-region", "142"),
    "145": ("Western Asia", "sub-region", "142"),
    "151": ("Eastern Europe", "sub-region", "150"),
    "154": ("Northern Europe", "sub-region", "150"),
    "039": ("Southern Europe", "sub-region", "150"),
    "155": ("Western Europe", "sub-region", "150"),
    "053": ("Australia and New Zealand", "sub-region", "009"),
    "054": ("Melanesia", "sub-region", "009"),
    "057": ("Micronesia", "sub-region", "009"),
    "061": ("Polynesia", "sub-region", "009"),
}


def party_lists() -> dict[str, list[str]]:
    """The ISO3 blocks of reference-facts.md section 5: Cartagena first, then the Supplementary Protocol."""
    text = FACTS.read_text(encoding="utf-8")
    section = text[text.index("## 5. Parties"):text.index("## 6.")]
    blocks = re.findall(r"```\n(.*?)```", section, re.DOTALL)
    lists = [re.findall(r"\b[A-Z]{3}\b", b) for b in blocks]
    return {"cpb": lists[0], "nkl": lists[1]}


def main(tsv: Path) -> None:
    import pycountry
    from babel import Locale

    lists = party_lists()
    assert len(lists["cpb"]) == 172 and len(lists["nkl"]) == 54, {k: len(v) for k, v in lists.items()}
    assert set(lists["nkl"]) <= set(lists["cpb"]), set(lists["nkl"]) - set(lists["cpb"])
    by_name = {name: code for code, (name, _, _) in HIERARCHY.items()}
    rows = {r["ISO3"]: r for r in csv.DictReader(tsv.open(encoding="utf-8"), delimiter="\t")}
    lukes = dict(line.split() for line in (HERE / "m49-source.txt").read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#"))
    out = []
    for iso3 in sorted(lists["cpb"]):
        row = rows[iso3]
        code = lukes[iso3]
        assert code in HIERARCHY, (iso3, code)
        if by_name.get(row["UNregion"]) != code:
            print(f"{iso3}: country_converter says {row['UNregion']!r}, lukes/M49 says {HIERARCHY[code][0]!r}: "
                  "lukes kept", file=sys.stderr)
        country = pycountry.countries.get(alpha_3=iso3)
        if (row["ISO2"], row["UNcode"].zfill(3)) != (country.alpha_2, country.numeric):
            print(f"{iso3}: country_converter has codes {row['ISO2']}/{row['UNcode']}, ISO 3166-1 (pycountry) "
                  f"{country.alpha_2}/{country.numeric}: ISO kept", file=sys.stderr)
        out.append({"iso3": iso3, "iso2": country.alpha_2, "m49": country.numeric, "m49_region": code,
                    "cpb": "1", "nkl": "1" if iso3 in lists["nkl"] else "0"})
    out.append({"iso3": "EU", "iso2": "EU", "m49": "", "m49_region": "", "cpb": "1", "nkl": "1"})
    with (HERE / "parties.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(out[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(out)
    locales = {lang: Locale.parse(lang) for lang in LANGS}
    with (HERE / "regions.csv").open("w", encoding="utf-8", newline="") as f:
        fields = ["code", "level", "parent", "en"] + list(LANGS)
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for code, (name, level, parent) in HIERARCHY.items():
            w.writerow({"code": code, "level": level, "parent": parent, "en": name,
                        **{lang: locales[lang].territories[code] for lang in LANGS}})
        w.writerow({"code": "EU", "level": "party", "parent": "", "en": Locale.parse("en").territories["EU"],
                    **{lang: locales[lang].territories["EU"] for lang in LANGS}})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
