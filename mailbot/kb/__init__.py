"""The knowledge base: one Markdown article per topic and language, with YAML front matter.

See knowledge_base/README.md for the article format; `check_knowledge_base` reports every problem
with file, line and fix, `load_knowledge_base` refuses a knowledge base that has any.
"""

from mailbot.kb.loader import check_knowledge_base, load_knowledge_base
from mailbot.kb.model import Article, KnowledgeBase, KnowledgeBaseError, Problem

__all__ = [
    "Article",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Problem",
    "check_knowledge_base",
    "load_knowledge_base",
]
