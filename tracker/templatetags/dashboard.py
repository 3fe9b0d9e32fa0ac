from django import template

register = template.Library()


@register.filter
def code_label(value) -> str:
    """A taxonomy code as words: "support_seeking" → "support seeking"."""
    return str(value).replace("_", " ")
