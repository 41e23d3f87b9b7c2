"""The Parties to the Cartagena Protocol and to the Supplementary Protocol, their UN M49 regions,
and the terms and URIs of the progress part of the graph.

Data (``data/parties/``, see its README for every source):

* ``parties.csv``: one row per Party (172 states by ISO 3166-1 alpha-3, and the European Union
  by its exceptionally reserved ISO 3166-1 code ``EU``), its ISO alpha-2 and M49 numeric codes,
  its most specific M49 region and its membership of each protocol;
* ``regions.csv``: the M49 regions used (world, regions, sub-regions, intermediate regions) with
  their parent, English M49 names and the Unicode CLDR names in zh, fr, es, ru, ar; and the
  names of the European Union (CLDR), which ISO 3166-1 does not name.

Names of states in the six UN languages come from pycountry's ISO 3166-1 gettext catalogues
(Debian iso-codes); a language whose catalogue lacks a state is left out, never filled with
English.

URIs (``{base}`` = the configurable base):

* Party: ``{base}id/party/{ISO3}`` (``.../party/CHN``; the EU: ``.../party/EU``)
* M49 region: ``{base}id/region/m49/{code}`` (``.../region/m49/002`` Africa, ``001`` World)
* membership: ``{base}id/party/{ISO3}/membership/{treaty}`` (treaty: ``cpb``, ``nkl``)
"""

from __future__ import annotations

import csv
import gettext
import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, RDFS, SKOS, DefinedNamespace

from cpbkg.errors import SourceError, read_text
from cpbkg.vocab import CPB, ONTOLOGY_IRI, Ids

PARTIES_FILE = Path("parties") / "parties.csv"
REGIONS_FILE = Path("parties") / "regions.csv"
#: the six UN languages, as the data tags them
UN_LANGUAGES = ("en", "zh", "fr", "es", "ru", "ar")
#: pycountry's gettext catalogue for each language (Chinese: Simplified, zh_CN)
GETTEXT_LOCALE = {"zh": "zh_CN", "fr": "fr", "es": "es", "ru": "ru", "ar": "ar"}
#: the treaties a Party can be party to, by the keys the treaties part uses
TREATIES = ("cpb", "nkl")

#: where the Party lists were copied from (their dcterms:source, relative to the base URI)...
REFERENCE_FACTS = "data/sources/reference-facts.md"
#: ...and the pages that file says it read them from (rdfs:seeAlso: the lists did not come from them directly)
PARTY_LIST_SOURCE = {
    "cpb": "https://bch.cbd.int/protocol/parties/",
    "nkl": "https://bch.cbd.int/protocol/supplementary/",
}
#: the treaties' names in membership labels (en, zh as CP-10/3 prints them)
TREATY_NAMES = {"cpb": ("the Cartagena Protocol on Biosafety", "《卡塔赫纳生物安全议定书》"),
                "nkl": ("the Nagoya – Kuala Lumpur Supplementary Protocol", "《补充议定书》")}
#: Names pycountry's catalogues give that are a state's former name, which the English (ISO) name
#: contradicts: left out, never published as the state's name. (ISO3, language) -> the name left out.
SUPERSEDED_NAMES = {
    ("BOL", "zh"): "玻利维亚共和国",
    ("BOL", "ar"): "جمهورية بوليفيا",
}
#: why a language has no name for a state: published as an editorial note
MISSING_NAME_NOTES = {
    ("BOL", "ar"): ("No Arabic name: pycountry's catalogue has only the former name “جمهورية بوليفيا” (Republic of "
                    "Bolivia), which the English name, Plurinational State of Bolivia, contradicts; no source in the "
                    "repository holds the current Arabic name, so none is given."),
    ("TUR", "ar"): ("No Arabic name: pycountry's catalogue translates only the former English name, Turkey; no "
                    "source in the repository holds the Arabic name of Türkiye, so none is given."),
}
M49_SOURCE = URIRef("https://unstats.un.org/unsd/methodology/m49/")
M49_COPY = URIRef("https://github.com/lukes/ISO-3166-Countries-with-Regional-Codes/blob/"
                  "b6e238f1e1ab5ac5ba11dfb37612efcecce9b3a6/all/all.csv")
CLDR_SOURCE = URIRef("https://cldr.unicode.org/")
ISO_CODES_SOURCE = URIRef("https://salsa.debian.org/iso-codes-team/iso-codes")


class PROG(DefinedNamespace):
    """The terms of ``ontology/cpbkg-progress.ttl`` (same namespace as :class:`cpbkg.vocab.CPB`).

    Closed: a misspelt term raises at import time.
    """

    _NS = Namespace(ONTOLOGY_IRI + "#")
    _fail = True

    # Parties and regions
    Party: URIRef
    Region: URIRef
    Membership: URIRef
    iso3166Alpha2: URIRef
    iso3166Alpha3: URIRef
    m49Code: URIRef
    regionLevel: URIRef
    inRegion: URIRef
    partyTo: URIRef
    member: URIRef
    memberOf: URIRef
    # national reports and answers
    NationalReport: URIRef
    Answer: URIRef
    reportingParty: URIRef
    questionnaire: URIRef
    inReport: URIRef
    answersQuestion: URIRef
    selectedOption: URIRef
    answerText: URIRef
    answerNumber: URIRef
    synthetic: URIRef
    correspondsToOption: URIRef
    # indicator methodology
    MeasurementRule: URIRef
    ruleFor: URIRef
    combination: URIRef
    numeratorQuestion: URIRef
    numeratorOption: URIRef
    denominatorQuestion: URIRef
    denominatorOption: URIRef
    denominatorScope: URIRef
    populationTreaty: URIRef
    questionBasis: URIRef
    valueBasis: URIRef
    measurementSource: URIRef
    # observations (RDF Data Cube)
    indicator: URIRef
    numerator: URIRef
    denominator: URIRef
    percentage: URIRef


SDMX_DIMENSION = Namespace("http://purl.org/linked-data/sdmx/2009/dimension#")
SDMX_ATTRIBUTE = Namespace("http://purl.org/linked-data/sdmx/2009/attribute#")


class ProgressIds:
    """The URIs of the progress part, under the same base as :class:`cpbkg.vocab.Ids`.

    >>> pids = ProgressIds(Ids("https://example.org/kg/"))
    >>> str(pids.party("CHN")), str(pids.region("002"))
    ('https://example.org/kg/id/party/CHN', 'https://example.org/kg/id/region/m49/002')
    >>> str(pids.report(5, "CHN")), str(pids.report(5, "CHN", synthetic=2))
    ('https://example.org/kg/id/report/nr5/party/CHN', 'https://example.org/kg/id/synthetic/r2/report/nr5/party/CHN')
    >>> str(pids.observation("progress", "A.1(a)", 5, "002"))
    'https://example.org/kg/id/observation/progress/A.1(a)/nr5/002'
    """

    def __init__(self, ids: Ids) -> None:
        self.ids = ids
        self.base = ids.base

    def _id(self, *parts: str) -> URIRef:
        return URIRef(self.base + "id/" + "/".join(quote(p, safe=".()-") for p in parts))

    def party(self, iso3: str) -> URIRef:
        return self._id("party", iso3)

    def membership(self, iso3: str, treaty: str) -> URIRef:
        return self._id("party", iso3, "membership", treaty)

    def region(self, code: str) -> URIRef:
        return self._id("region", "m49", code)

    def area(self, code: str) -> URIRef:
        """An observation's area: a Party (ISO3 / EU) or an M49 region (3 digits)."""
        return self.region(code) if code.isdigit() else self.party(code)

    def region_scheme(self) -> URIRef:
        return self._id("region", "m49")

    def report(self, cycle: int, iso3: str, *, synthetic: int | None = None) -> URIRef:
        prefix = ("synthetic", f"r{synthetic}") if synthetic is not None else ()
        return self._id(*prefix, "report", f"nr{cycle}", "party", iso3)

    def rule(self, indicator: str, cycle: int) -> URIRef:
        return self._id("indicator", indicator, "rule", f"nr{cycle}")

    def dataset(self, key: str) -> URIRef:
        """An RDF Data Cube data set of observations (``progress``, ``synthetic-progress`` ...)."""
        return self._id("dataset", key)

    def collection(self, synthetic: int | None = None) -> URIRef:
        """The collection national reports are part of: ``national-reports`` (ingested, real),
        ``synthetic`` (synthetic replicate 0) or ``synthetic-r{n}`` (benchmark replicates)."""
        if synthetic is None:
            return self._id("dataset", "national-reports")
        return self.synthetic_dataset() if synthetic == 0 else self._id("dataset", f"synthetic-r{synthetic}")

    def synthetic_dataset(self) -> URIRef:
        """The resource describing all synthetic data (its own loud label)."""
        return self._id("dataset", "synthetic")

    def dsd(self) -> URIRef:
        return self._id("dsd", "progress")

    def observation(self, dataset: str, indicator: str, cycle: int, area: str) -> URIRef:
        return self._id("observation", dataset, indicator, f"nr{cycle}", area)


# ------------------------------------------------------------------------------------ the data


@dataclass(frozen=True)
class Region:
    """An M49 region (or the world)."""

    code: str
    level: str
    parent: str
    names: dict[str, str] = field(hash=False, compare=False)


@dataclass(frozen=True)
class Party:
    """A Party to the Cartagena Protocol."""

    iso3: str
    iso2: str
    m49: str
    #: the most specific M49 region, "" for the EU
    region: str
    treaties: frozenset[str]
    names: dict[str, str] = field(hash=False, compare=False)
    #: the region and every region above it, most specific first (empty for the EU)
    regions: tuple[str, ...] = ()

    @property
    def is_state(self) -> bool:
        return self.iso3 != "EU"


class PartyList:
    """The Parties and the regions they are in."""

    def __init__(self, parties: dict[str, Party], regions: dict[str, Region]) -> None:
        self.parties = parties
        self.regions = regions
        self._alpha2 = {p.iso2: p.iso3 for p in parties.values()}

    def resolve(self, code: str) -> str | None:
        """A Party's ISO3 key from an alpha-3 or alpha-2 code, any case; None if not a Party.

        >>> pl = load_parties()
        >>> pl.resolve("chn"), pl.resolve("CN"), pl.resolve("eu"), pl.resolve("USA")
        ('CHN', 'CHN', 'EU', None)
        """
        code = (code or "").strip().upper()
        if code in self.parties:
            return code
        return self._alpha2.get(code)

    def members(self, treaty: str) -> list[Party]:
        return [p for p in self.parties.values() if treaty in p.treaties]

    def areas(self, iso3: str) -> tuple[str, ...]:
        """Every observation area a Party counts in: itself, its regions, the world (001)."""
        party = self.parties[iso3]
        return (iso3, *party.regions, "001") if party.regions else (iso3, "001")


def _read_csv(path: Path, columns: list[str]) -> list[tuple[int, dict[str, str]]]:
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise SourceError(path, f"missing column(s) {', '.join(missing)}", line=1)
    rows = []
    try:
        for row in reader:
            if None in row or None in row.values():  # fields missing (a truncated line) or extra
                count = len([v for k, v in row.items() if k is not None and v is not None]) + len(row.get(None) or [])
                raise SourceError(path, f"{count} fields where the header has {len(reader.fieldnames or [])} "
                                        "(a truncated line, or a comma inside an unquoted value?)", line=reader.line_num)
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise SourceError(path, f"CSV syntax error: {exc}", line=reader.line_num) from exc
    return rows


@lru_cache(maxsize=8)
def _catalogue(lang: str) -> dict[str, str]:
    import pycountry

    try:
        translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[GETTEXT_LOCALE[lang]])
    except OSError:
        return {}
    return dict(translation._catalog)  # type: ignore[attr-defined]


def state_names(iso3: str) -> dict[str, str]:
    """A state's ISO 3166-1 name in each UN language pycountry translates it into.

    >>> names = state_names("CHN")
    >>> names["en"], names["zh"], names["fr"]
    ('China', '中国', 'Chine')
    """
    import pycountry

    country = pycountry.countries.get(alpha_3=iso3)
    if country is None:
        return {}
    names = {"en": country.name}
    for lang in GETTEXT_LOCALE:
        translated = _catalogue(lang).get(country.name)
        if translated and SUPERSEDED_NAMES.get((iso3, lang)) != translated:
            names[lang] = translated
    return names


@lru_cache(maxsize=4)
def load_parties(data_dir: Path | None = None) -> PartyList:
    """The Party list of ``data_dir`` (default: the project's ``data/``).

    Raises:
        SourceError: a missing or broken file, an unknown region, a code pycountry does not know,
            a duplicate Party, or a Supplementary Protocol Party that is not a Cartagena Party.
    """
    if data_dir is None:
        from cpbkg.config import Settings

        data_dir = Settings().data_dir
    regions_path, parties_path = data_dir / REGIONS_FILE, data_dir / PARTIES_FILE
    regions: dict[str, Region] = {}
    eu_names: dict[str, str] = {}
    for line, row in _read_csv(regions_path, ["code", "level", "parent", *UN_LANGUAGES]):
        names = {lang: row[lang].strip() for lang in UN_LANGUAGES if (row.get(lang) or "").strip()}
        if row["code"] == "EU":
            eu_names = names
            continue
        if row["code"] in regions:
            raise SourceError(regions_path, f"region {row['code']} is listed twice", line=line, field="code")
        regions[row["code"]] = Region(row["code"], row["level"], row["parent"], names)
    for code, region in regions.items():
        if region.parent and region.parent not in regions:
            raise SourceError(regions_path, f"region {code} has an unknown parent {region.parent}", field="parent")
    import pycountry

    parties: dict[str, Party] = {}
    for line, row in _read_csv(parties_path, ["iso3", "iso2", "m49", "m49_region", *TREATIES]):
        iso3 = row["iso3"].strip()
        if iso3 in parties:
            raise SourceError(parties_path, f"Party {iso3} is listed twice", line=line, field="iso3")
        treaties = frozenset(t for t in TREATIES if row[t].strip() == "1")
        if "cpb" not in treaties:
            raise SourceError(parties_path, f"{iso3} is listed but not as a Party to the Cartagena Protocol",
                              line=line, field="cpb")
        chain: list[str] = []
        if iso3 == "EU":
            names = eu_names
            if not names:
                raise SourceError(regions_path, "no names for the European Union (row EU)")
        else:
            country = pycountry.countries.get(alpha_3=iso3)
            if country is None or country.alpha_2 != row["iso2"] or country.numeric != row["m49"]:
                raise SourceError(parties_path, f"{iso3}: ISO 3166-1 codes disagree with pycountry ({country})",
                                  line=line, field="iso3")
            code = row["m49_region"].strip()
            if code not in regions:
                raise SourceError(parties_path, f"{iso3}: unknown M49 region {code!r}", line=line, field="m49_region")
            while code and code != "001":
                chain.append(code)
                code = regions[code].parent
            names = state_names(iso3)
        parties[iso3] = Party(iso3, row["iso2"], row["m49"], row["m49_region"], treaties, names, tuple(chain))
    return PartyList(parties, regions)


# ------------------------------------------------------------------------------------ the graph


def build_graph(data_dir: Path, ids: Ids) -> Graph:
    """The Parties, their names, codes, regions and protocol memberships (small: for SHACL and HermiT)."""
    from cpbkg.build.sources.wording import Translations

    translations = Translations.load(data_dir)
    plist = load_parties(data_dir)
    pids = ProgressIds(ids)
    g = Graph()
    scheme = pids.region_scheme()
    g.add((scheme, RDF.type, SKOS.ConceptScheme))
    g.add((scheme, SKOS.prefLabel, Literal("UN M49 geographic regions", lang="en")))
    g.add((scheme, SKOS.prefLabel, Literal("联合国M49地理区域", lang="zh")))
    g.add((scheme, DCTERMS.source, M49_SOURCE))
    for region in plist.regions.values():
        uri = pids.region(region.code)
        g.add((uri, RDF.type, PROG.Region))
        g.add((uri, SKOS.inScheme, scheme))
        g.add((uri, SKOS.notation, Literal(region.code)))
        g.add((uri, PROG.m49Code, Literal(region.code)))
        g.add((uri, PROG.regionLevel, Literal(region.level)))
        for lang, name in region.names.items():
            g.add((uri, SKOS.prefLabel, Literal(name, lang=lang)))
        if region.parent:
            g.add((uri, SKOS.broader, pids.region(region.parent)))
        else:
            g.add((scheme, SKOS.hasTopConcept, uri))
        g.add((uri, DCTERMS.source, M49_SOURCE))
        g.add((uri, PROV.wasDerivedFrom, M49_COPY))
        g.add((uri, PROV.wasDerivedFrom, CLDR_SOURCE))
        g.add((uri, SKOS.editorialNote, Literal(
            "English name: UN M49. Names in zh, fr, es, ru, ar: Unicode CLDR 47 territory names for the M49 "
            "code (via Babel 2.18.0), which can be shorter than the M49 names.", lang="en")))
    for party in plist.parties.values():
        uri = pids.party(party.iso3)
        g.add((uri, RDF.type, PROG.Party))
        g.add((uri, SKOS.notation, Literal(party.iso3)))
        g.add((uri, PROG.iso3166Alpha2, Literal(party.iso2)))
        if party.is_state:
            g.add((uri, PROG.iso3166Alpha3, Literal(party.iso3)))
            g.add((uri, PROG.m49Code, Literal(party.m49)))
            g.add((uri, DCTERMS.source, ISO_CODES_SOURCE))
        else:
            g.add((uri, DCTERMS.source, CLDR_SOURCE))
            g.add((uri, SKOS.editorialNote, Literal(
                "The European Union is a Party as a regional economic integration organization. ISO 3166-1 "
                "reserves the code EU for it exceptionally and names it nowhere; its names are Unicode CLDR's. "
                "It belongs to no M49 region and counts only in the global figures.", lang="en")))
        for lang, name in party.names.items():
            g.add((uri, SKOS.prefLabel, Literal(name, lang=lang)))
            if lang == "en":
                g.add((uri, RDFS.label, Literal(name, lang=lang)))
        if "zh" not in party.names:
            # a superseded Chinese name left out: the project's translation of the English one, marked
            translations.label(g, ids, uri, party.names["en"])
        for (iso3, _lang), note in sorted(MISSING_NAME_NOTES.items()):
            if iso3 == party.iso3:
                g.add((uri, SKOS.editorialNote, Literal(note, lang="en")))
        for code in party.regions:
            g.add((uri, PROG.inRegion, pids.region(code)))
        if party.regions:
            g.add((uri, PROG.inRegion, pids.region("001")))
        for treaty in sorted(party.treaties):
            membership = pids.membership(party.iso3, treaty)
            g.add((uri, PROG.partyTo, ids.treaty(treaty)))
            g.add((membership, RDF.type, PROG.Membership))
            g.add((membership, PROG.member, uri))
            g.add((membership, PROG.memberOf, ids.treaty(treaty)))
            # the lists were copied from reference-facts.md, section 5, which says where it read them
            g.add((membership, DCTERMS.source, URIRef(ids.base + REFERENCE_FACTS)))
            g.add((membership, CPB.locator, Literal("section 5")))
            g.add((membership, RDFS.seeAlso, URIRef(PARTY_LIST_SOURCE[treaty])))
            treaty_en, treaty_zh = TREATY_NAMES[treaty]
            names = {lang: str(name) for lang in ("en", "zh") for name in g.objects(uri, SKOS.prefLabel)
                     if isinstance(name, Literal) and name.language == lang}
            g.add((membership, RDFS.label, Literal(f"{names['en']}: Party to {treaty_en}", lang="en")))
            g.add((membership, RDFS.label, Literal(f"{names['zh']}：{treaty_zh}缔约方", lang="zh")))
            g.add((membership, SKOS.editorialNote, Literal(
                "Membership as listed in 2026 in data/sources/reference-facts.md, section 5 (which names the "
                "BCH page of rdfs:seeAlso as where it read the list); the date of ratification or accession is "
                "not available offline.", lang="en")))
    return g
