"""What people type for a resource: a code, often with the name of its kind ("Target 17", "Art. 26",
"B.3", "A.1(a)", "SDG 2", "Q7", "第26条", "行动目标 17", "CHN"), and how such a text finds the resource.

One source for search (:mod:`cpbkg.describe.search`: a code typed goes straight to its resource)
and for the parameters of the named queries (:mod:`cpbkg.web.routes.queries`: ``?target=17``):

* :func:`read_code` splits a text into the kinds it names ("target" -> GBF or SDG targets) and
  the code itself, normalised (lower case, leading zeros dropped, kind words and separators gone);
* :func:`code_key` is the same normalisation for a resource's own ``skos:notation`` ("Art. 26",
  "GBF-TARGET-17", "Q007", "02" become "26", "17", "7", "2"), so that a typed code and a notation
  compare equal when they mean the same thing;
* :func:`kind_keys` names the kinds of a resource as those words do (its main class, or, for the
  UN's SDG URIs which have no class of ours, "sdg" for a goal and "sdgtarget" for a target);
* :class:`CodeResolver` finds the resource of a given class a text stands for (by code, label or
  the last segment of its IRI), with the text always bound as a query parameter, never pasted.

>>> typed = read_code("Target 17")
>>> sorted(typed.kinds), typed.code
(['gbftarget', 'sdgtarget'], '17')
>>> [read_code(t).code for t in ("Art. 26", "第26条", "Q7", "A.1 (a)", "ＣＨＮ", "CP-10/3")]
['26', '26', '7', 'a.1(a)', 'chn', 'cp 10 3']
>>> sorted(read_code("SDG 2").kinds), read_code("SDG 2").code
(['sdg', 'sdgindicator', 'sdgtarget'], '2')
>>> read_code("nkl Art. 12")
Code(kinds=frozenset({'article'}), code='nkl 12', last='12', qualifiers=('nkl',))
>>> code_key("GBF-TARGET-17"), code_key("Q007"), code_key("Art. 26"), code_key("02"), code_key("B.3")
('17', '7', '26', '2', 'b.3')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

from cpbkg.describe.model import CPB, SKOS, natural_key

if TYPE_CHECKING:
    from cpbkg.store.protocol import GraphStore

SDG_NS = "http://metadata.un.org/sdg/"

#: the words people write before (or around) a code, each with the kinds (:func:`kind_keys`) it may
#: name; several words name what they all name ("SDG target" is an SDG target, "GBF goal" a GBF goal)
KIND_WORDS: dict[str, frozenset[str]] = {word: frozenset(kinds.split()) for word, kinds in {
    "plan": "implementationplan",
    "area": "area", "领域": "area",
    "goal": "goal gbfgoal sdg", "long-term": "goal", "长期目标": "goal",
    "objective": "objective", "目的": "objective",
    "indicator": "indicator gbfindicator sdgindicator", "指标": "indicator gbfindicator sdgindicator",
    "outcome": "outcome", "成果": "outcome",
    "target": "gbftarget sdgtarget", "行动目标": "gbftarget", "具体目标": "sdgtarget",
    "gbf": "gbftarget gbfgoal gbfindicator gbfquestion", "kmgbf": "gbftarget gbfgoal gbfindicator gbfquestion",
    "目标": "goal gbftarget gbfgoal sdg",
    "sdg": "sdg sdgtarget sdgindicator", "可持续发展目标": "sdg",
    "art": "article", "art.": "article", "article": "article", "条": "article", "第": "article", "条款": "article",
    "annex": "treatyannex annexsection annexparagraph", "附件": "treatyannex annexsection annexparagraph",
    "party": "party", "country": "party", "缔约方": "party",
    "region": "region", "区域": "region",
    "question": "reportquestion gbfquestion", "q": "reportquestion", "t": "gbftarget", "问题": "reportquestion gbfquestion",
    "section": "questionnairesection", "questionnaire": "questionnaire",
    "paragraph": "operativeparagraph annexparagraph preambularparagraph",
    "para": "operativeparagraph annexparagraph preambularparagraph",
    "para.": "operativeparagraph annexparagraph preambularparagraph", "段": "operativeparagraph annexparagraph",
    "decision": "decision", "决定": "decision",
    "treaty": "treaty", "protocol": "treaty", "议定书": "treaty",
}.items()}
#: a kind written glued to its code: "Q7", "T17", "Art.26", "SDG2", "第26条"
_GLUED = re.compile(r"^(q|t|art\.?|sdg)(\d[\w.()]*)$")
_CJK_ARTICLE = re.compile(r"^第\s*(\S+?)\s*条")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LEADING_ZEROS = re.compile(r"(?<![\d])0+(?=\d)")
#: full-width forms people type in Chinese: parentheses, dots, spaces
_WIDE = str.maketrans({"（": "(", "）": ")", "．": ".", "。": ".", "\u3000": " ", "：": ":"})


@dataclass(frozen=True)
class Code:
    """A text read as a code: the kinds it names (empty: any), the code (the words that are not kind
    words), its last word and the words before that (a treaty's key in "nkl 12")."""

    kinds: frozenset[str]
    code: str
    last: str = ""
    qualifiers: tuple[str, ...] = ()


def _tokens(text: str) -> list[str]:
    """The words of a text: split at spaces, hyphens and underscores, and where Chinese meets other script."""
    text = unicodedata.normalize("NFKC", text.translate(_WIDE)).lower().strip()
    text = re.sub(r"\s+\(", "(", text)  # "A.1 (a)" is A.1(a)
    match = _CJK_ARTICLE.match(text)
    if match:  # 第26条: the article number between its two characters
        text = "第 " + match.group(1) + text[match.end():]
    out: list[str] = []
    for chunk in re.split(r"[\s_\-–—/:,;]+", text):
        for part in re.split(f"({_CJK.pattern})", chunk):
            if part:
                glued = _GLUED.match(part)
                out.extend(glued.groups() if glued else [part])
    return out


def _normal(token: str) -> str:
    """A code token compared: no leading zeros in numbers ("Q007" = "Q7", "02.01" = "2.1")."""
    return _LEADING_ZEROS.sub("", token)


def read_code(text: str) -> Code:
    """The kinds a text names and the code in it (see the module docstring)."""
    tokens = _tokens(text)
    kinds: frozenset[str] | None = None
    rest: list[str] = []
    for token in tokens:
        named = KIND_WORDS.get(token)
        if named is None:
            rest.append(token)
        else:
            kinds = named if kinds is None else (kinds & named or kinds)
    if not rest:  # only kind words ("Plan", "SDG"): the text is its own code
        code = " ".join(_normal(t) for t in tokens)
        return Code(frozenset(), code, code)
    rest = [_normal(t) for t in rest]
    return Code(kinds or frozenset(), " ".join(rest), rest[-1], tuple(rest[:-1]))


def code_key(notation: str) -> str:
    """A notation normalised as :func:`read_code` normalises a typed code."""
    return read_code(notation).code


def kind_keys(subject: str, kinds: Iterable[str]) -> frozenset[str]:
    """The kinds of a resource as :data:`KIND_WORDS` name them: the local names of its CPB-KG
    classes, lower case ("goal", "gbftarget"), and "sdg"/"sdgtarget"/"sdgindicator" for the UN's
    SDG URIs (``http://metadata.un.org/sdg/2``, ``…/2.1``, ``…/C020101``)."""
    out = {k[len(CPB):].lower() for k in kinds if k.startswith(CPB)}
    if subject.startswith(SDG_NS):
        rest = subject[len(SDG_NS):]
        out.add("sdg" if rest.isdigit() else "sdgtarget" if re.fullmatch(r"\d+\.\w+", rest) else "sdgindicator")
    return frozenset(out)


# ---------------------------------------------------------------------- resolving a named query's parameter

#: the resources of one class with their codes, labels and IRIs: the candidates a typed value is matched to
CANDIDATES_QUERY = f"""SELECT DISTINCT ?class ?s ?code ?label WHERE {{
  ?s a ?class .
  OPTIONAL {{ ?s <{SKOS}notation>|<{CPB}iso3166Alpha2>|<{CPB}iso3166Alpha3>|<{CPB}m49Code> ?code }}
  OPTIONAL {{ ?s <{SKOS}prefLabel>|<{SKOS}altLabel>|<http://www.w3.org/2000/01/rdf-schema#label> ?label }}
}}"""


class CodeNotFound(ValueError):
    """A typed value matches no resource of the class, or several equally well (the message says which)."""


def _parent(iri: str) -> str:
    return iri.rsplit("/", 1)[0] + "/" if "/" in iri else iri


def _segments(iri: str) -> set[str]:
    return {s.lower() for s in re.split(r"[/#]", iri) if s}


class CodeResolver:
    """Finds the resource of a class that a typed value stands for, in one store.

    >>> store = ox.Store()
    >>> goal = ox.NamedNode(CPB + "Goal")
    >>> for code in ("A.1", "B.3"):
    ...     node = ox.NamedNode("https://x.org/id/goal/" + code)
    ...     store.add(ox.Quad(node, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), goal))
    ...     store.add(ox.Quad(node, ox.NamedNode(SKOS + "notation"), ox.Literal(code)))
    >>> r = CodeResolver(store)
    >>> r.resolve([goal.value], "Goal b.3", "https://x.org/id/goal/A.1").value
    'https://x.org/id/goal/B.3'
    >>> r.resolve([goal.value], "Z.9", "https://x.org/id/goal/A.1")
    Traceback (most recent call last):
    ...
    cpbkg.describe.codes.CodeNotFound: no Goal with the code or name 'Z.9' (there are A.1, B.3)
    """

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def candidates(self, cls: str) -> dict[str, tuple[set[str], set[str]]]:
        """{IRI: (code keys, lower-cased labels)} of the resources of ``cls`` (bound, never pasted)."""
        found: dict[str, tuple[set[str], set[str]]] = {}
        rows = self.store.query(CANDIDATES_QUERY, use_default_graph_as_union=True,
                                substitutions={ox.Variable("class"): ox.NamedNode(cls)})
        for row in rows:  # type: ignore[union-attr]
            subject = row["s"]
            if not isinstance(subject, ox.NamedNode):
                continue
            codes, labels = found.setdefault(subject.value, (set(), set()))
            code, label = row["code"], row["label"]
            if isinstance(code, ox.Literal):
                codes.add(code_key(code.value))
            if isinstance(label, ox.Literal):
                labels.add(" ".join(label.value.lower().split()))
        return found

    def resolve(self, classes: list[str], text: str, default: str) -> ox.NamedNode:
        """The resource of one of ``classes`` that ``text`` names: its code (``skos:notation``, compared as
        :func:`code_key`), else its label in any language, else the last segment of its IRI. Of several,
        those under the same path as ``default`` (the parameter's default: articles of the same
        treaty, questions of the same questionnaire) and those whose IRI holds the text's other words
        ("nkl 12") win.

        Raises:
            CodeNotFound: nothing matches, or several do equally well (naming them).
        """
        typed = read_code(text)
        wanted = " ".join(text.lower().split())
        candidates: dict[str, tuple[set[str], set[str]]] = {}
        for cls in classes:
            candidates.update(self.candidates(cls))
        last = _normal(wanted.rsplit("/", 1)[-1])
        words = [w for w in re.split(r"[\s,;:]+", wanted) if w and w not in KIND_WORDS]
        for how in ("code", "last code", "label", "segment", "label start", "label words"):
            if how == "code":
                hits = [iri for iri, (codes, _) in candidates.items() if typed.code in codes]
            elif how == "last code":
                if not typed.qualifiers:
                    continue
                hits = [iri for iri, (codes, _) in candidates.items() if typed.last in codes]
            elif how == "label":
                hits = [iri for iri, (_, labels) in candidates.items() if wanted in labels]
            elif how == "segment":
                hits = [iri for iri in candidates if _normal(iri.rsplit("/", 1)[-1].lower()) == last]
            elif how == "label start":  # "Cartagena Protocol": the label begins with it
                hits = [iri for iri, (_, labels) in candidates.items()
                        if any(label.lstrip("《").startswith(wanted) for label in labels)]
            else:  # "Supplementary Protocol": every word starts a word of one label
                hits = [iri for iri, (_, labels) in candidates.items()
                        if words and any(all(re.search(rf"(?<!\w){re.escape(w)}", label) for w in words)
                                         for label in labels)]
            if typed.qualifiers and len(hits) > 1:
                hits = [iri for iri in hits if set(typed.qualifiers) <= _segments(iri)] or hits
            if len(hits) > 1:
                hits = [iri for iri in hits if _parent(iri) == _parent(default)] or hits
            if len(hits) == 1:
                return ox.NamedNode(hits[0])
            if hits:
                raise CodeNotFound(f"{text!r} names {len(hits)} resources: {', '.join(sorted(hits)[:8])}; "
                                   "give the IRI")
        names = ", ".join(c.rsplit("#", 1)[-1] for c in classes)
        keys = sorted({iri.rsplit("/", 1)[-1] for iri in candidates}, key=natural_key)
        listed = ", ".join(keys[:12]) + (", …" if len(keys) > 12 else "")
        raise CodeNotFound(f"no {names} with the code or name {text!r}" + (f" (there are {listed})" if keys else ""))



# ---------------------------------------------------------------------- literal parameters

#: what people write for the two languages of the Plan, by language tag
LANGUAGE_WORDS = {
    "zh": {"zh", "zh-cn", "zh-hans", "chinese", "中文", "汉语", "简体中文", "zho", "chi"},
    "en": {"en", "en-gb", "en-us", "english", "英文", "英语", "eng"},
}
_PLAN_CODE = re.compile(r"^([ab])((?:\.\d+){0,2})(?:\(([a-z])\))?$", re.IGNORECASE)


def plain_code(text: str) -> str:
    """A code as its notation is written, without the kind words around it: "Goal b.3" is "B.3",
    "第26条" and "Art. 26" are "26", "Indicator a.1(A)" is "A.1(a)".

    >>> [plain_code(t) for t in ("Goal b.3", "第26条", "Art. 26", "Indicator a.1(A)", "CP-10/3", "objective  B.3.4")]
    ['B.3', '26', '26', 'A.1(a)', 'CP-10/3', 'B.3.4']
    """
    text = unicodedata.normalize("NFKC", text.translate(_WIDE)).strip()
    match = _CJK_ARTICLE.match(text)
    if match:
        text = match.group(1) + text[match.end():]
    words = [w for w in text.split() if w.lower() not in KIND_WORDS]
    code = " ".join(words) if words else text
    plan = _PLAN_CODE.match(code)
    if plan:  # the Plan's codes: an upper-case area letter, a lower-case indicator letter
        code = plan.group(1).upper() + plan.group(2) + (f"({plan.group(3).lower()})" if plan.group(3) else "")
    return code


def language_tag(text: str) -> str | None:
    """The language tag for a language as people name it ("Chinese", "中文", "zh-CN"), None if not zh or en.

    >>> language_tag("Chinese"), language_tag(" 中文 "), language_tag("EN-gb"), language_tag("fr")
    ('zh', 'zh', 'en', None)
    """
    word = text.strip().lower()
    return next((tag for tag, words in LANGUAGE_WORDS.items() if word in words), None)
