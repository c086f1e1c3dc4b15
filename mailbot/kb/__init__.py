"""The knowledge base: one Markdown article per topic and language, with YAML front matter.

See knowledge_base/README.md for the article format; `check_knowledge_base` reports every problem
with file, line and fix, `load_knowledge_base` refuses a knowledge base that has any;
`knowledge_base_warnings` lists what reaches a customer other than meant (never refused).
"""

from mailbot.kb.loader import check_knowledge_base, knowledge_base_warnings, load_knowledge_base
from mailbot.kb.model import Article, KnowledgeBase, KnowledgeBaseError, Problem

__all__ = [
    "Article",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Problem",
    "check_knowledge_base",
    "knowledge_base_warnings",
    "load_knowledge_base",
]
