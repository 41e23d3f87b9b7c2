"""The two languages of the user interface (Chinese and English) and how a request picks one.

The data itself carries its own language tags (``@zh``, ``@en``); this module only holds the
strings of the interface around it. The language of a page is, in this order:

1. the ``?lang=zh`` / ``?lang=en`` query parameter (and then every link of the page keeps it);
2. the best of ``zh`` and ``en`` in the ``Accept-Language`` header, by q-value;
3. English.

>>> negotiate_language(None, "zh-CN,zh;q=0.9,en;q=0.8")
'zh'
>>> negotiate_language("en", "zh-CN")
'en'
>>> negotiate_language(None, "fr-FR, en;q=0.5, zh;q=0.4")
'en'
>>> negotiate_language("xx", None)
'en'
>>> t("home", "zh")
'首页'
"""

from __future__ import annotations

from cpbkg.web.negotiation import pick_language

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
#: the value of an HTML ``lang`` attribute for each language: the texts are Simplified Chinese
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}


def other(lang: str) -> str:
    """The other interface language.

    >>> other("en")
    'zh'
    """
    return "zh" if lang == "en" else "en"


def negotiate_language(param: str | None, accept_language: str | None) -> str:
    """The interface language for a request (see the module docstring; the rule is
    :func:`cpbkg.web.negotiation.pick_language`)."""
    return pick_language(param, accept_language, available=LANGUAGES, default=DEFAULT_LANGUAGE)


#: every string of the interface, in both languages
STRINGS: dict[str, dict[str, str]] = {
    "site_name": {"en": "CPB-KG", "zh": "CPB-KG"},
    "site_tagline": {"en": "The Cartagena Protocol Implementation Plan 2023-2030 as linked data",
                     "zh": "《卡塔赫纳生物安全议定书执行计划（2023-2030年）》关联数据"},
    "skip": {"en": "Skip to main content", "zh": "跳到主要内容"},
    "main_nav": {"en": "Main navigation", "zh": "主导航"},
    "home": {"en": "Home", "zh": "首页"},
    "query": {"en": "Query", "zh": "查询"},
    "explore": {"en": "Linkage explorer", "zh": "关联浏览"},
    "ontology": {"en": "Ontology", "zh": "本体"},
    "dumps": {"en": "Downloads", "zh": "下载"},
    "progress": {"en": "Progress", "zh": "进展"},
    "progress_of_indicator": {"en": "Baseline and 5th reporting cycle, world and UN regions",
                              "zh": "基线与第五个报告周期（全球及联合国区域）"},
    "progress_of_party": {"en": "This Party in each indicator measured from national reports",
                          "zh": "本缔约方在各项根据国家报告衡量的指标中的情况"},
    "search": {"en": "Search", "zh": "搜索"},
    "search_label": {"en": "Search names and codes", "zh": "搜索名称和编号"},
    "search_placeholder": {"en": "Target 17, A.1(a), 生物安全…", "zh": "行动目标 17、A.1(a)、biosafety…"},
    "sparql_endpoint": {"en": "SPARQL endpoint", "zh": "SPARQL 端点"},
    "api_docs": {"en": "API documentation", "zh": "API 文档"},
    "api_docs_intro": {"en": "Every HTTP operation of this server (SPARQL endpoint, named queries, dumps, linked "
                             "data), from its OpenAPI description:",
                       "zh": "本服务器的全部 HTTP 操作（SPARQL 端点、命名查询、数据转储、关联数据），依据其 OpenAPI 描述："},
    "api_docs_noscript": {"en": "The interactive documentation needs JavaScript; the OpenAPI description is "
                                "readable as JSON at the link above.",
                          "zh": "交互式文档需要 JavaScript；OpenAPI 描述可通过上方链接以 JSON 格式阅读。"},
    "language": {"en": "Language", "zh": "语言"},
    "switch_to": {"en": "中文", "zh": "English"},
    "breadcrumbs": {"en": "Breadcrumbs", "zh": "导航路径"},
    "footer_licence": {"en": "Code: Apache-2.0. Data compilation and translations: CC BY 4.0. "
                             "Official texts remain subject to their publishers' terms.",
                       "zh": "代码：Apache-2.0。数据汇编与翻译：CC BY 4.0。官方文本的使用须遵守其发布者的条款。"},
    "version": {"en": "Version", "zh": "版本"},
    "built": {"en": "Built", "zh": "构建时间"},
    # resource pages
    "uri": {"en": "URI", "zh": "URI"},
    "type": {"en": "Type", "zh": "类型"},
    "code": {"en": "Code", "zh": "编号"},
    "text": {"en": "Text", "zh": "文本"},
    "text_zh": {"en": "Chinese", "zh": "中文"},
    "text_en": {"en": "English", "zh": "英文"},
    "lang_name_zh": {"en": "Chinese", "zh": "中文"},
    "lang_name_en": {"en": "English", "zh": "英文"},
    "no_text_in": {"en": "The sources give no {language} text for this resource.",
                   "zh": "来源中没有此资源的{language}文本。"},
    "official_chinese": {"en": "Official Chinese wording", "zh": "正式中文措辞"},
    "notes": {"en": "Notes", "zh": "注释"},
    "other_kind": {"en": "other", "zh": "其他"},
    "in_ontology": {"en": "definition in the ontology", "zh": "本体中的定义"},
    "basis_legend": {"en": "Every link of the Plan says on what basis it is made:",
                     "zh": "执行计划的每一关联都注明其依据："},
    "basis_explicit_help": {"en": "the official text itself cites it", "zh": "官方文本本身引用"},
    "basis_official_help": {"en": "an official source (e.g. the Secretariat's table of indicators) states it",
                            "zh": "官方来源（如秘书处的指标表）明确说明"},
    "basis_curated_help": {"en": "the CPB-KG project's analysis, with who made it, when and why",
                           "zh": "CPB-KG 项目的分析，注明整理者、时间和理由"},
    "basis_explicit_name": {"en": "explicit citation", "zh": "明确引用"},
    "basis_official_name": {"en": "official mapping", "zh": "官方对应"},
    "basis_curated_name": {"en": "curated link", "zh": "人工整理关联"},
    "official_english": {"en": "Official English wording", "zh": "正式英文措辞"},
    "project_translation": {"en": "Project translation, not official wording",
                            "zh": "项目翻译，非正式措辞"},
    "english_source": {"en": "English source", "zh": "英文来源"},
    "chinese_source": {"en": "Chinese source", "zh": "中文来源"},
    "source": {"en": "Source", "zh": "来源"},
    "properties": {"en": "Properties", "zh": "属性"},
    "value": {"en": "Value", "zh": "值"},
    "links_out": {"en": "Links from this resource", "zh": "本资源指向的关联"},
    "links_in": {"en": "Links to this resource", "zh": "指向本资源的关联"},
    "inferred": {"en": "Inferred statements (materialised by the build from the ontology)",
                 "zh": "推理得出的陈述（由构建过程根据本体生成）"},
    "inferred_types": {"en": "Inferred types", "zh": "推理得出的类型"},
    "basis": {"en": "Basis", "zh": "依据"},
    "justification": {"en": "Justification", "zh": "理由"},
    "link_details": {"en": "link record", "zh": "关联记录"},
    "curated_by": {"en": "curated by", "zh": "整理者"},
    "more": {"en": "and {n} more not shown", "zh": "另有 {n} 项未显示"},
    "get_as": {"en": "Get this description as", "zh": "以下列格式获取本描述"},
    "sparql_snippet": {"en": "SPARQL", "zh": "SPARQL"},
    "copy": {"en": "Copy", "zh": "复制"},
    "copied": {"en": "Copied", "zh": "已复制"},
    "open_in_query": {"en": "Open in the query editor", "zh": "在查询编辑器中打开"},
    "explore_node": {"en": "Explore its neighbourhood", "zh": "浏览其关联网络"},
    "external_resource": {"en": "This resource is not part of CPB-KG: this page shows what CPB-KG says about it. "
                                "Its own URI is",
                          "zh": "此资源不属于 CPB-KG：本页显示 CPB-KG 中关于它的陈述。其本身的 URI 为"},
    "graph_triples": {"en": "Triples in this graph", "zh": "本图中的三元组数"},
    "blank_node": {"en": "(anonymous resource)", "zh": "（匿名资源）"},
    "copy_uri": {"en": "Copy URI", "zh": "复制 URI"},
    "pager": {"en": "Previous and next", "zh": "上一项和下一项"},
    "previous": {"en": "Previous", "zh": "上一项"},
    "next": {"en": "Next", "zh": "下一项"},
    "plan_tree": {"en": "The Plan's tree", "zh": "执行计划结构树"},
    "plan_tree_help": {"en": "Areas, long-term goals, and each goal's objectives, indicators and outcome. Open a branch "
                             "to see what it holds.",
                       "zh": "领域、长期目标以及各目标的目的、指标和成果。展开一个分支可查看其内容。"},
    "show_links": {"en": "Show the {n} links", "zh": "显示全部 {n} 个关联"},
    "anchor_link": {"en": "Link to {name}", "zh": "指向{name}的链接"},
    "project_translation_short": {"en": "project translation", "zh": "项目翻译"},
    "document_text": {"en": "The decision, in order", "zh": "决定全文（按顺序）"},
    "document_intro": {"en": "The preamble, the operative paragraphs, the annex with the Implementation Plan and the "
                             "footnotes, each with its own address (the ¶ link). The Chinese text is the official text; "
                             "English is the project's translation unless it is marked otherwise.",
                       "zh": "序言、执行段落、载有执行计划的附件和脚注，各有其地址（¶ 链接）。中文为正式文本；英文除另有标注外为本项目的翻译。"},
    "document_no_link": {"en": "The data holds no web address of the official document; its symbol and source are "
                               "listed above.",
                         "zh": "数据中没有正式文件的网址；其文号和来源见上文。"},
    "cite_this": {"en": "Cite this", "zh": "引用本资源"},
    "cite_text": {"en": "As text", "zh": "文本格式"},
    "not_found_path": {"en": "There is no page at this address:", "zh": "此地址没有页面："},
    "not_found_title": {"en": "Not found", "zh": "未找到"},
    "not_found_text": {"en": "CPB-KG has no resource with this URI:", "zh": "CPB-KG 中没有以下 URI 的资源："},
    "bad_uri": {"en": "Not an absolute http(s) URI:", "zh": "不是绝对的 http(s) URI："},
    "not_found_hint": {"en": "Start from the home page or the linkage explorer.",
                       "zh": "请从首页或关联浏览页面开始。"},
    # search
    "search_title": {"en": "Search", "zh": "搜索"},
    "search_intro": {"en": "Finds the resources whose names, codes or notes hold the words you type: in Chinese, English "
                           "or any other language of the data, upper and lower case alike. A code as you would write "
                           "it (\u201cTarget 17\u201d, \u201cB.3\u201d, \u201cArt. 26\u201d, \u201cSDG 2\u201d, "
                           "\u201cCHN\u201d) comes first, marked as an exact match; several words find what holds "
                           "each of them, or is of that kind (\u201cindicator A.1(a)\u201d). The Plan's elements, "
                           "treaty articles and targets are listed before parts of the questionnaires.",
                     "zh": "查找名称、编号或注释包含所输入词语的资源：可用中文、英文或数据中的其他语言，不区分大小写。"
                           "按通常写法输入的编号（如\u201c行动目标 17\u201d、\u201cB.3\u201d、\u201c第26条\u201d、"
                           "\u201cSDG 2\u201d、\u201cCHN\u201d）排在最前，并标为完全匹配；输入多个词时，查找同时包含各词或属于"
                           "该类别的资源（如\u201c指标 A.1(a)\u201d）。执行计划要素、条约条款和行动目标排在问卷内容之前。"},
    "search_type": {"en": "Kind of resource", "zh": "资源类别"},
    "search_type_any": {"en": "Any kind", "zh": "所有类别"},
    "search_type_plan": {"en": "Plan elements", "zh": "执行计划要素"},
    "search_type_area": {"en": "Areas", "zh": "领域"},
    "search_type_goal": {"en": "Long-term goals", "zh": "长期目标"},
    "search_type_objective": {"en": "Objectives", "zh": "目的"},
    "search_type_indicator": {"en": "Indicators", "zh": "指标"},
    "search_type_outcome": {"en": "Outcomes", "zh": "成果"},
    "search_type_article": {"en": "Treaty articles and annexes", "zh": "条约条款和附件"},
    "search_type_treaty": {"en": "Treaties", "zh": "条约"},
    "search_type_gbf": {"en": "Global Biodiversity Framework", "zh": "全球生物多样性框架"},
    "search_type_target": {"en": "GBF and SDG targets", "zh": "行动目标和具体目标"},
    "search_type_sdg": {"en": "Sustainable Development Goals", "zh": "可持续发展目标"},
    "search_type_decision": {"en": "Decision CP-10/3", "zh": "第CP-10/3号决定"},
    "search_type_question": {"en": "National-report questions", "zh": "国家报告问题"},
    "search_type_party": {"en": "Parties", "zh": "缔约方"},
    "search_type_region": {"en": "Regions", "zh": "区域"},
    "search_as_json": {"en": "These results as JSON", "zh": "本搜索结果的 JSON 格式"},
    "search_exact": {"en": "exact code", "zh": "编号完全匹配"},
    "search_in": {"en": "Part of", "zh": "所属"},
    "search_cycle": {"en": "reporting cycle {n}", "zh": "第{n}个报告周期"},
    "search_in_note": {"en": "in a note", "zh": "注释中"},
    "search_results": {"en": "{n} results for \u201c{q}\u201d", "zh": "\u201c{q}\u201d的搜索结果：{n} 项"},
    "search_one": {"en": "1 result for \u201c{q}\u201d", "zh": "\u201c{q}\u201d的搜索结果：1 项"},
    "search_more": {"en": "Showing the best {shown}: add a word or a code to narrow the search.",
                    "zh": "仅显示最相关的 {shown} 项：请添加词语或编号以缩小范围。"},
    "search_truncated": {"en": "This text is very common, so the search read only part of the labels: add a word to "
                               "narrow it.",
                         "zh": "该文字非常常见，搜索只读取了部分标签：请添加词语以缩小范围。"},
    "search_none": {"en": "Nothing found for \u201c{q}\u201d. Try a code (A.1, A.1(a), 17), fewer words, or the "
                          "other language.",
                    "zh": "未找到\u201c{q}\u201d。请尝试编号（A.1、A.1(a)、17）、更少的词语或另一种语言。"},
    "search_try": {"en": "For example", "zh": "例如"},
    "matched": {"en": "matched", "zh": "匹配"},
    "kind": {"en": "Kind", "zh": "类别"},
    # home
    "home_intro": {
        "en": "CPB-KG is the Implementation Plan for the Cartagena Protocol on Biosafety 2023-2030 "
              "(decision CP-10/3 of the COP-MOP) as a linked-data knowledge graph. It holds the Plan's "
              "goals, objectives, indicators and outcomes in Chinese and English, the decision's own text, "
              "the treaty articles they rest on, and their links to the Kunming-Montreal Global "
              "Biodiversity Framework and the SDGs, each link with its basis.",
        "zh": "CPB-KG 以关联数据知识图谱的形式发布《卡塔赫纳生物安全议定书执行计划（2023-2030年）》"
              "（作为议定书缔约方会议的《生物多样性公约》缔约方大会第 CP-10/3 号决定）。图谱包含计划的长期目标、目的、指标和成果"
              "的中英文本、决定本身的文本、其所依据的条约条款，以及与《昆明-蒙特利尔全球生物多样性框架》和"
              "可持续发展目标的关联，每一关联都注明依据。"},
    "home_honest": {
        "en": "The Chinese text is the authoritative source. English is marked official only where an "
              "official English text was found; all other English is the project's translation and says so. "
              "Curated links are the project's analysis and say who made them and why.",
        "zh": "中文文本为权威来源。仅在找到官方英文文本时英文才标为正式措辞；其余英文均为本项目的翻译并予注明。"
              "人工整理的关联属于本项目的分析，注明整理者和理由。"},
    "in_numbers": {"en": "The graph in numbers", "zh": "图谱概况"},
    "count_goals": {"en": "long-term goals", "zh": "长期目标"},
    "count_objectives": {"en": "objectives", "zh": "目的"},
    "count_indicators": {"en": "indicators", "zh": "指标"},
    "count_outcomes": {"en": "outcomes", "zh": "成果"},
    "count_articles": {"en": "treaty articles", "zh": "条约条款"},
    "count_links": {"en": "links with their basis", "zh": "注明依据的关联"},
    "count_triples": {"en": "triples", "zh": "三元组"},
    "use_it": {"en": "Use the data", "zh": "使用数据"},
    "use_query": {"en": "Query the graph in SPARQL, with example queries", "zh": "使用 SPARQL 查询图谱（含示例查询）"},
    "use_explore": {"en": "Explore the links between the Plan and the GBF targets",
                    "zh": "浏览执行计划与全球生物多样性框架行动目标之间的关联"},
    "use_ontology": {"en": "Read the ontology: classes and properties", "zh": "阅读本体：类和属性"},
    "use_dumps": {"en": "Download the whole graph (TriG, Turtle, N-Triples, JSON-LD)",
                  "zh": "下载整个图谱（TriG、Turtle、N-Triples、JSON-LD）"},
    "use_sparql": {"en": "SPARQL 1.1 endpoint for programs", "zh": "供程序使用的 SPARQL 1.1 端点"},
    "use_api": {"en": "HTTP API documentation (OpenAPI)", "zh": "HTTP API 文档（OpenAPI）"},
    "use_dataset": {"en": "Dataset description (VoID, DCAT)", "zh": "数据集描述（VoID、DCAT）"},
    "use_progress": {"en": "Progress on the Plan's indicators, from the Parties' national reports",
                     "zh": "根据缔约方国家报告的执行计划指标进展"},
    "use_search": {"en": "Find any goal, indicator, article, target or question by name or code",
                   "zh": "按名称或编号查找任何长期目标、指标、条款、行动目标或问题"},
    "start_here": {"en": "Start exploring", "zh": "从这里开始浏览"},
    "start_intro": {"en": "Every page shows a resource in Chinese and English, where it sits, what it links to and on "
                          "what basis, and how to get it as data.",
                    "zh": "每个页面都以中英文展示一个资源、其所处位置、其关联及依据，以及获取其数据的方式。"},
    "licence": {"en": "Licence", "zh": "许可"},
    "licence_code": {"en": "Code: Apache License 2.0.", "zh": "代码：Apache License 2.0。"},
    "licence_data": {"en": "Data compilation and translations: Creative Commons Attribution 4.0 (CC BY 4.0).",
                     "zh": "数据汇编与翻译：知识共享署名 4.0（CC BY 4.0）。"},
    "licence_official": {"en": "Official texts (CBD decisions, treaties, UN SDG data) remain subject to their "
                               "publishers' terms; every resource names its source.",
                         "zh": "官方文本（《生物多样性公约》决定、条约、联合国可持续发展目标数据）仍须遵守其发布者的条款；"
                               "每个资源都注明其来源。"},
    "citation": {"en": "How to cite", "zh": "引用方式"},
    "plan_outline": {"en": "The Plan at a glance", "zh": "执行计划概览"},
    # the endpoint's page (/sparql without a query)
    "sparql_title": {"en": "CPB-KG SPARQL endpoint", "zh": "CPB-KG SPARQL 端点"},
    "sparql_intro": {"en": "A read-only SPARQL 1.1 Protocol endpoint for programs and the query editor:",
                     "zh": "供程序和查询编辑器使用的只读 SPARQL 1.1 协议端点："},
    "sparql_editor": {"en": "Write and run queries in the query editor", "zh": "在查询编辑器中编写并运行查询"},
    "sparql_send": {"en": "Send queries with", "zh": "发送查询的方式："},
    "sparql_named": {"en": "Named, parameterised queries", "zh": "命名的参数化查询"},
    "sparql_limits": {"en": "Limits", "zh": "限制"},
    "sparql_limits_text": {"en": "{timeout} s per query, {cap} rows or triples per answer.",
                           "zh": "每个查询 {timeout} 秒，每个答案 {cap} 行或三元组。"},
    "sparql_refused_service": {"en": "Updates, LOAD and SERVICE are refused.", "zh": "拒绝更新、LOAD 和 SERVICE。"},
    "sparql_refused": {"en": "Updates and LOAD are refused.", "zh": "拒绝更新和 LOAD。"},
    "sparql_union": {"en": "The default graph is the union of the named graphs.", "zh": "默认图为所有命名图的并集。"},
    "sparql_default_graph": {"en": "The default graph is the store's default graph.", "zh": "默认图为存储的默认图。"},
    "sparql_formats": {"en": "Answer formats", "zh": "答案格式"},
    "sparql_graphs": {"en": "Named graphs", "zh": "命名图"},
    "sparql_as_rdf": {"en": "This description as", "zh": "本描述的其他格式："},
    # query
    "query_title": {"en": "Query the graph", "zh": "查询图谱"},
    "query_intro": {"en": "Write SPARQL 1.1 below and run it against this server's endpoint (/sparql). "
                          "The default graph is the union of all named graphs. Pick an example query to start.",
                    "zh": "在下方编写 SPARQL 1.1 查询，并在本服务器的端点（/sparql）上运行。默认图为所有命名图的并集。"
                          "可先选择一个示例查询。"},
    "query_keys": {"en": "In the editor, Ctrl+Enter runs the query and Esc leaves the editor (Tab indents).",
                   "zh": "在编辑器中，按 Ctrl+Enter 运行查询，按 Esc 离开编辑器（Tab 键用于缩进）。"},
    "example_queries": {"en": "Example queries", "zh": "示例查询"},
    "query_share": {"en": "A link that opens this query", "zh": "打开此查询的链接"},
    "query_label": {"en": "label", "zh": "标签"},
    "query_open_page": {"en": "its page on this site", "zh": "本站页面"},
    "query_results_help": {"en": "In the results, a resource is shown by its prefixed name and its label, and links "
                                 "to its page on this site. The share button gives a link that opens the query again; "
                                 "the editor completes the classes (after a) and properties the data uses.",
                           "zh": "在结果中，资源以其前缀名和标签显示，并链接到其在本站的页面。分享按钮提供可再次打开该查询的链接；"
                                 "编辑器可补全数据中使用的类（在 a 之后）和属性。"},
    "pick_query": {"en": "Open an example query", "zh": "打开示例查询"},
    "open": {"en": "Open", "zh": "打开"},
    "noscript_query": {"en": "The editor needs JavaScript. Without it, send queries to /sparql directly, "
                             "or use the example queries below.",
                       "zh": "编辑器需要 JavaScript。如未启用，请直接向 /sparql 发送查询，或使用下列示例查询。"},
    # explorer
    "explore_title": {"en": "Linkage explorer: goals and GBF targets", "zh": "关联浏览：长期目标与全球生物多样性框架行动目标"},
    "explore_intro": {"en": "Each cell counts the links between a long-term goal of the Plan (the goal itself, its "
                            "objectives and its indicators) and a target or goal of the Kunming-Montreal Global "
                            "Biodiversity Framework, or a Sustainable Development Goal; the last column and row are the "
                            "totals. Follow a number to read the links, their basis and justification. On a small "
                            "screen the table scrolls sideways, its first column and header staying in place.",
                      "zh": "每个单元格表示执行计划的一个长期目标（目标本身、其目的和指标）与《昆明-蒙特利尔全球生物多样性框架》"
                            "一个行动目标或目标、或一个可持续发展目标之间的关联数量；最后一列和最后一行为合计。点击数字可查看"
                            "这些关联及其依据和理由。在小屏幕上，表格可横向滚动，首列和表头保持不动。"},
    "goal": {"en": "Goal", "zh": "长期目标"},
    "matrix_basis": {"en": "Links of the basis", "zh": "关联依据"},
    "matrix_basis_any": {"en": "every basis", "zh": "所有依据"},
    "matrix_show": {"en": "Show", "zh": "显示"},
    "matrix_csv": {"en": "Download this matrix (CSV)", "zh": "下载此矩阵（CSV）"},
    "matrix_as_rows": {"en": "Every link as a row (named query)", "zh": "每一关联一行（命名查询）"},
    "matrix_only": {"en": "Only the links whose basis is \u201c{basis}\u201d are counted: {n} links.",
                    "zh": "仅计入依据为\u201c{basis}\u201d的关联：共 {n} 个。"},
    "matrix_group_target": {"en": "GBF targets", "zh": "全球生物多样性框架行动目标"},
    "matrix_group_gbf-goal": {"en": "GBF goals", "zh": "框架目标"},
    "matrix_group_sdg": {"en": "SDGs", "zh": "可持续发展目标"},
    "matrix_col_gbf-goal": {"en": "Goal {code}", "zh": "目标 {code}"},
    "matrix_col_sdg": {"en": "SDG {code}", "zh": "SDG {code}"},
    "matrix_total": {"en": "Total", "zh": "合计"},
    "matrix_plan": {"en": "Plan", "zh": "执行计划"},
    "matrix_names": {"en": "The columns", "zh": "各列"},
    "matrix_links_n": {"en": "{n} links", "zh": "{n} 个关联"},
    "sdg": {"en": "Sustainable Development Goal", "zh": "可持续发展目标"},
    "gbf_goal": {"en": "GBF goal", "zh": "框架目标"},
    "cell_only": {"en": "Only the links whose basis is \u201c{basis}\u201d.", "zh": "仅显示依据为\u201c{basis}\u201d的关联。"},
    "cell_all": {"en": "All the links", "zh": "全部关联"},
    "cell_title_gbf-goal": {"en": "Goal {goal} and GBF goal {target}", "zh": "长期目标 {goal} 与框架目标 {target}"},
    "cell_title_sdg": {"en": "{goal} and SDG {target}", "zh": "{goal} 与可持续发展目标 {target}"},
    "node_kind_plan": {"en": "the Plan and its elements", "zh": "执行计划及其要素"},
    "node_kind_treaty": {"en": "treaties and their articles", "zh": "条约及其条款"},
    "node_kind_gbf": {"en": "Global Biodiversity Framework", "zh": "全球生物多样性框架"},
    "node_kind_sdg": {"en": "Sustainable Development Goals", "zh": "可持续发展目标"},
    "node_kind_decision": {"en": "decisions and their parts", "zh": "决定及其组成部分"},
    "node_kind_report": {"en": "national-report questionnaires", "zh": "国家报告问卷"},
    "node_kind_party": {"en": "Parties and regions", "zh": "缔约方和区域"},
    "node_kind_other": {"en": "other", "zh": "其他"},
    "gbf_target": {"en": "GBF target", "zh": "行动目标"},
    "matrix_caption": {"en": "Links between long-term goals (rows) and GBF targets 1-23, GBF goals and SDGs (columns)",
                       "zh": "长期目标（行）与全球生物多样性框架行动目标 1-23、框架目标和可持续发展目标（列）之间的关联"},
    "cell_links": {"en": "{n} links between goal {goal} and GBF target {target}",
                   "zh": "长期目标 {goal} 与行动目标 {target} 之间有 {n} 个关联"},
    "cell_links_any": {"en": "{n} links between {row} and {column}", "zh": "{row}与{column}之间有 {n} 个关联"},
    "no_links": {"en": "No links.", "zh": "没有关联。"},
    "element": {"en": "Plan element", "zh": "计划要素"},
    "property": {"en": "Property", "zh": "属性"},
    "cell_title": {"en": "Goal {goal} and GBF target {target}", "zh": "长期目标 {goal} 与行动目标 {target}"},
    "back_to_matrix": {"en": "Back to the matrix", "zh": "返回矩阵"},
    "network": {"en": "Network view", "zh": "网络视图"},
    "node_title": {"en": "Neighbourhood of", "zh": "关联网络："},
    "outgoing": {"en": "Links out", "zh": "指出的关联"},
    "incoming": {"en": "Links in", "zh": "指入的关联"},
    "resource_page": {"en": "Full description", "zh": "完整描述"},
    "start_nodes": {"en": "Start from", "zh": "起点"},
    "diagram_legend": {"en": "Solid lines: links out; dashed lines: links in; each line is named by its property, and "
                             "each node's full name shows when it is pointed at or focused. Select a node to continue "
                             "from it. The colour of a node is its kind:",
                       "zh": "实线：指出的关联；虚线：指入的关联；每条线标有其属性，指向或聚焦节点时显示其全名。选择一个节点可从该节点"
                             "继续浏览。节点的颜色表示其类别："},
    "diagram": {"en": "Diagram of the node and its neighbours; each neighbour is a link",
                "zh": "节点及其相邻节点的示意图；每个相邻节点均为链接"},
    # downloads (the HTML listing of /dumps/)
    "dumps_title": {"en": "Download the graph", "zh": "下载图谱"},
    "dumps_intro": {"en": "Every file of this build, with its size and SHA-256 checksum. The whole graph is in each dump; "
                          "TriG keeps one named graph per part (plan, decision, treaties, GBF, SDGs, reports, links, "
                          "ontology, inferred).",
                    "zh": "本次构建的全部文件及其大小和 SHA-256 校验和。每个数据转储都包含整个图谱；TriG 格式按部分保留命名图"
                          "（执行计划、决定、条约、全球生物多样性框架、可持续发展目标、报告、关联、本体、推理）。"},
    "dumps_build": {"en": "Build {version}, {built}, {triples} triples.", "zh": "构建版本 {version}，{built}，{triples} 个三元组。"},
    "dumps_check": {"en": "Check a download with", "zh": "校验下载文件："},
    "dumps_as_json": {"en": "This list as JSON", "zh": "本列表的 JSON 格式"},
    "dumps_licence": {"en": "Licence of the data compilation and translations: CC BY 4.0.",
                      "zh": "数据汇编与翻译的许可：CC BY 4.0。"},
    "dumps_files": {"en": "Files of this build", "zh": "本次构建的文件"},
    "col_file": {"en": "File", "zh": "文件"},
    "col_format": {"en": "Format", "zh": "格式"},
    "col_bytes": {"en": "Bytes", "zh": "字节"},
    "col_sha256": {"en": "SHA-256", "zh": "SHA-256"},
    "col_what": {"en": "What", "zh": "内容"},
    "dump_SHA256SUMS": {"en": "checksums of the other files", "zh": "其他文件的校验和"},
    "dump_cpbkg.trig": {"en": "every part of the build, each in its named graph (the store adds void.ttl as the graph dataset)",
                        "zh": "构建的每个部分，各在其命名图中（存储另将 void.ttl 载为 dataset 图）"},
    "dump_cpbkg.ttl": {"en": "the union of every graph, the dataset description included",
                       "zh": "所有命名图的并集，含数据集描述"},
    "dump_cpbkg.nt.gz": {"en": "the union of every graph, one triple per line", "zh": "所有命名图的并集，每行一个三元组"},
    "dump_cpbkg.jsonld": {"en": "the union of every graph", "zh": "所有命名图的并集"},
    "dump_void.ttl": {"en": "VoID + DCAT description of the dataset and these files (the graph dataset)",
                      "zh": "数据集及这些文件的 VoID + DCAT 描述（即 dataset 图）"},
    "dump_shacl-report.ttl": {"en": "the SHACL validation report of this build", "zh": "本次构建的 SHACL 验证报告"},
    "dump_release.json": {"en": "version, build time, data hash, triple counts", "zh": "版本、构建时间、数据哈希、三元组数"},
    "dump_graph": {"en": "the named graph {name} alone (also GET /store?graph=)",
                   "zh": "单独的命名图 {name}（也可用 GET /store?graph= 获取）"},
    "dump_table": {"en": "{title} (CSV, UTF-8; ?bom=1 or {excel} for Excel)",
                   "zh": "{title}（CSV，UTF-8；Excel 请用 ?bom=1 或 {excel}）"},
    "dump_table_excel": {"en": "{title} (CSV with a UTF-8 byte-order mark, for Excel)",
                         "zh": "{title}（带 UTF-8 字节顺序标记的 CSV，供 Excel 使用）"},
    "dump_table_metadata": {"en": "CSVW metadata of {file}: its columns and their types",
                            "zh": "{file} 的 CSVW 元数据：各列及其数据类型"},
    "dumps_stable": {"en": "The files of this release stay at", "zh": "本版本的文件长期保留于"},
    "dumps_latest": {"en": "the current release is always at", "zh": "当前版本始终位于"},
    "tables_csv": {"en": "Download as CSV", "zh": "下载 CSV 表格"},
    "table_excel": {"en": "for Excel", "zh": "Excel 版"},
    "table_columns": {"en": "columns (CSVW)", "zh": "列说明（CSVW）"},
    # ontology
    "ontology_title": {"en": "CPB-KG ontology", "zh": "CPB-KG 本体"},
    "classes": {"en": "Classes", "zh": "类"},
    "object_properties": {"en": "Object properties", "zh": "对象属性"},
    "datatype_properties": {"en": "Datatype properties", "zh": "数据属性"},
    "individuals": {"en": "Named individuals", "zh": "命名个体"},
    "definition": {"en": "Definition", "zh": "定义"},
    "subclass_of": {"en": "Subclass of", "zh": "父类"},
    "subproperty_of": {"en": "Subproperty of", "zh": "父属性"},
    "domain": {"en": "Domain", "zh": "定义域"},
    "range": {"en": "Range", "zh": "值域"},
    "inverse_of": {"en": "Inverse of", "zh": "逆属性"},
    "characteristics": {"en": "Characteristics", "zh": "特性"},
    "instances": {"en": "Instances in the graph", "zh": "图谱中的实例数"},
    "contents": {"en": "Contents", "zh": "目录"},
    "namespace": {"en": "Namespace", "zh": "命名空间"},
    # progress pages (cpbkg.web.routes.progress)
    "progress_title": {"en": "Progress on the Implementation Plan", "zh": "执行计划进展"},
    "progress_intro": {"en": "Indicators measured from the Parties' national reports: the baseline is the 4th national "
                             "reports, the latest the 5th reporting cycle. Which answers count towards each indicator "
                             "is written as data; where no official source says so it is the project's reading "
                             "(curated).",
                       "zh": "根据缔约方国家报告衡量的指标：基线为第四次国家报告，最新值为第五个报告周期。每个指标计入哪些"
                             "答案以数据形式记录；没有官方来源说明之处，为本项目的解读（整理）。"},
    "progress_synthetic_banner": {"en": "{label}. These figures come from answers made up at random for tests and "
                                        "demonstrations; they say nothing about any country.",
                                  "zh": "{label}。这些数字来自为测试和演示随机生成的答案，不反映任何国家的情况。"},
    "progress_no_data": {"en": "No indicator observations in this store yet: the Parties' national-report answers "
                               "have not been loaded on this server, so no indicator is measured here.",
                         "zh": "本存储中尚无指标观测值：本服务器尚未载入缔约方的国家报告答案，因此此处尚未衡量任何指标。"},
    "progress_what_fills": {"en": "What fills these pages", "zh": "这些页面的数据从何而来"},
    "progress_operator": {"en": "The operator of this server loads the answers of the 4th national reports (the "
                                "baseline) and of the 5th reporting cycle, as the Biosafety Clearing-House exports them "
                                "or as a table in the documented format, checked against the questionnaires and the list "
                                "of Parties, and rebuilds the graph. Each indicator below is then computed from the "
                                "answers that count, for the world, each UN region and each Party.",
                          "zh": "本服务器的运营者载入第四次国家报告（基线）和第五个报告周期的答案（生物安全信息交换所导出的格式，"
                                "或按说明格式整理的表格，并对照问卷和缔约方名单进行核对），然后重新构建图谱。此后，下列每项指标"
                                "将根据计入的答案按全球、各联合国区域和各缔约方计算。"},
    "progress_sources": {"en": "Where the baseline comes from", "zh": "基线的来源"},
    "progress_sources_intro": {"en": "The baseline is the 4th national reports; the latest figures are the 5th "
                                     "reporting cycle. The questionnaires, with the questions the indicators read, and "
                                     "the source the data gives for each (linked from the questionnaire's page):",
                               "zh": "基线为第四次国家报告；最新数字来自第五个报告周期。各问卷（含各指标所读取的问题）及数据所列的来源"
                                     "（问卷页面中附有链接）："},
    "progress_methodology": {"en": "How each indicator is measured", "zh": "各项指标的衡量方法"},
    "progress_methodology_intro": {"en": "For each indicator: where it is measured from and, for the baseline and the "
                                         "5th cycle, the questions whose answers count, and whether that choice is the "
                                         "official table's or the project's reading. Follow an indicator for the answers "
                                         "that count.",
                                   "zh": "每项指标的数据来源，以及在基线和第五个周期中计入的问题、该选择依据官方表格还是本项目的解读。"
                                         "点击指标可查看计入的答案。"},
    "progress_rule_sources": {"en": "Where the questionnaires these rules read are published", "zh": "这些规则所读取的问卷的发布来源"},
    "progress_indicator": {"en": "Indicator", "zh": "指标"},
    "progress_baseline": {"en": "Baseline (4th reports)", "zh": "基线（第四次报告）"},
    "progress_latest": {"en": "5th cycle", "zh": "第五个周期"},
    "progress_change": {"en": "Change (points)", "zh": "变化（百分点）"},
    "progress_world": {"en": "World", "zh": "全球"},
    "progress_by_region": {"en": "By UN region (M49)", "zh": "按联合国区域（M49）"},
    "progress_region": {"en": "Region", "zh": "区域"},
    "progress_parties_counted": {"en": "Parties counted / Parties", "zh": "计入的缔约方 / 缔约方"},
    "progress_how_measured": {"en": "How it is measured", "zh": "衡量方法"},
    "progress_cycle": {"en": "Cycle", "zh": "周期"},
    "progress_question": {"en": "Question", "zh": "问题"},
    "progress_counted_answers": {"en": "Answers that count", "zh": "计入的答案"},
    "progress_combination": {"en": "Combination", "zh": "组合方式"},
    "progress_combination_all": {"en": "all questions", "zh": "所有问题"},
    "progress_combination_any": {"en": "any question", "zh": "任一问题"},
    "progress_question_basis": {"en": "Questions", "zh": "问题依据"},
    "progress_value_basis": {"en": "Counted answers", "zh": "答案依据"},
    "progress_basis_OfficialMapping": {"en": "official table", "zh": "官方表格"},
    "progress_basis_CuratedLink": {"en": "project's reading (curated)", "zh": "本项目解读（整理）"},
    "progress_measured_from": {"en": "Data source", "zh": "数据来源"},
    "progress_source_national-reports": {"en": "national reports", "zh": "国家报告"},
    "progress_source_bch-records": {"en": "Biosafety Clearing-House records", "zh": "生物安全信息交换所记录"},
    "progress_source_bch-analytics": {"en": "Biosafety Clearing-House web statistics", "zh": "生物安全信息交换所网站统计"},
    "progress_source_other-records": {"en": "other records (GEF, Compliance Committee)",
                                      "zh": "其他记录（全环基金、履约委员会）"},
    "progress_names": {"en": "Names in the UN languages", "zh": "联合国语文名称"},
    "progress_codes": {"en": "Codes", "zh": "代码"},
    "progress_regions": {"en": "UN M49 regions", "zh": "联合国M49区域"},
    "progress_memberships": {"en": "Party to", "zh": "缔约方身份"},
    "progress_treaty_cpb": {"en": "Cartagena Protocol on Biosafety", "zh": "《卡塔赫纳生物安全议定书》"},
    "progress_treaty_nkl": {"en": "Nagoya-Kuala Lumpur Supplementary Protocol",
                            "zh": "《关于赔偿责任和补救的名古屋-吉隆坡补充议定书》"},
    "progress_counted": {"en": "counted", "zh": "计入"},
    "progress_not_counted": {"en": "not counted", "zh": "未计入"},
    "progress_not_in_denominator": {"en": "no answer", "zh": "无答案"},
    "progress_profile": {"en": "Indicators", "zh": "指标"},
    "progress_back": {"en": "All indicators", "zh": "所有指标"},
    "progress_unknown_indicator": {"en": "No indicator with this code.", "zh": "没有此编号的指标。"},
    "progress_unknown_party": {"en": "Not a Party to the Cartagena Protocol (give an ISO 3166-1 alpha-3 or alpha-2 "
                                     "code, or EU).",
                               "zh": "不是《卡塔赫纳议定书》缔约方（请输入 ISO 3166-1 三字母或二字母代码，或 EU）。"},
    "progress_bad_dataset": {"en": "Unknown data set.", "zh": "未知的数据集。"},
    "progress_chart_world": {"en": "Percentage of Parties, world: baseline and 5th cycle",
                             "zh": "缔约方百分比（全球）：基线与第五个周期"},
    "progress_chart_regions": {"en": "Percentage of Parties by region: baseline and 5th cycle",
                               "zh": "按区域的缔约方百分比：基线与第五个周期"},
    "progress_chart_index": {"en": "Every indicator, world: baseline and 5th cycle",
                             "zh": "所有指标（全球）：基线与第五个周期"},
    "progress_chart_party": {"en": "World percentage per indicator, with this Party's answer",
                             "zh": "各指标的全球百分比及本缔约方的情况"},
    "progress_dataset": {"en": "Data set", "zh": "数据集"},
    "progress_eu_note": {"en": "The European Union belongs to no M49 region: it counts in the world figures only.",
                         "zh": "欧洲联盟不属于任何M49区域，只计入全球数字。"},
}


def t(key: str, lang: str, **values: object) -> str:
    """An interface string in ``lang``, with ``{name}`` placeholders filled in."""
    entry = STRINGS[key]
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text
