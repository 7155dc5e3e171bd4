"""README.md and docs/*.md read as docs_test.py needs them.

A Page is one Markdown file: its fenced code blocks (each with the marker
comment just above it, if any), its prose, its inline code spans and links,
and the anchors GitHub gives its headings. A marker is an HTML comment on
the line above a block (blank lines between allowed):
    <!-- example: FILE -->          the block shows FILE's lines
    <!-- transcript; varies: RE --> the block is commands and their output
    <!-- not run: REASON -->        why the block is not run
"""
import re
import unicodedata

MARKER = re.compile(r"^<!--\s*(example|transcript|not run)\s*(?::|;|-->)(.*?)(?:-->)?\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)\s*$")
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^()\s]*)\)")
CODE_SPAN = re.compile(r"`([^`]+)`")


class Page:
    """One Markdown file: its fenced blocks, its prose, its anchors."""

    def __init__(self, path, root):
        self.path = path
        self.name = path.relative_to(root).as_posix()
        self.lines = path.read_text(encoding="utf-8").split("\n")
        self.blocks = []  # dicts: line (1-based, of the opening fence), language, marker, body
        self.prose = []  # (line number, text) outside fenced blocks
        fence = None
        for number, line in enumerate(self.lines, 1):
            match = FENCE.match(line)
            if fence is None and match:
                fence = {"line": number, "indent": len(match.group(1)), "fence": match.group(2),
                         "language": match.group(3).lower(), "marker": self._marker_before(number), "body": []}
            elif fence is not None and line.strip() == fence["fence"]:
                self.blocks.append(fence)
                fence = None
            elif fence is not None:
                fence["body"].append(line[fence["indent"]:] if line[:fence["indent"]].isspace() else line)
            else:
                self.prose.append((number, line))
        if fence is not None:
            raise SystemExit(f"{self.name}:{fence['line']}: a fenced block that is never closed")
        self.anchors = self._anchors()

    def _marker_before(self, number):
        """The <!-- ... --> line just above line `number` (1-based), blank lines between allowed."""
        index = number - 2
        while index >= 0 and not self.lines[index].strip():
            index -= 1
        if index < 0:
            return None
        match = MARKER.match(self.lines[index].strip())
        if not match:
            return None
        return {"kind": match.group(1), "argument": match.group(2).strip(), "line": index + 1}

    def _anchors(self):
        anchors, seen = set(), {}
        for _, line in self.prose:
            heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if heading:
                slug = github_slug(heading.group(1))
                count = seen.get(slug, 0)
                seen[slug] = count + 1
                anchors.add(slug if count == 0 else f"{slug}-{count}")
            for explicit in re.finditer(r"<a\s+(?:id|name)=\"([^\"]+)\"", line):
                anchors.add(explicit.group(1))
        return anchors

    def prose_text(self):
        """The prose as one string (links and code spans may wrap), and where each line starts."""
        starts, text = [], []
        offset = 0
        for number, line in self.prose:
            starts.append((offset, number))
            text.append(line)
            offset += len(line) + 1
        return "\n".join(text), starts

    def line_of(self, starts, offset):
        number = starts[0][1] if starts else 1
        for start, line in starts:
            if start > offset:
                break
            number = line
        return number

    def code_spans(self):
        """(line, text) of every inline code span, with wrapped spans joined by a space."""
        text, starts = self.prose_text()
        for match in CODE_SPAN.finditer(text):
            yield self.line_of(starts, match.start()), " ".join(match.group(1).split())

    def links(self):
        """(line, target) of every inline link outside code."""
        text, starts = self.prose_text()
        blanked = CODE_SPAN.sub(lambda m: "`" + "x" * (len(m.group(0)) - 2) + "`", text)
        for match in LINK.finditer(blanked):
            yield self.line_of(starts, match.start()), match.group(2)


def github_slug(heading):
    """The anchor GitHub gives a heading: its text, lower case, without punctuation, spaces as '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    kept = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return kept.replace(" ", "-")


def load_pages(root):
    paths = [root / "README.md"] + sorted((root / "docs").rglob("*.md"))
    return {path.resolve(): Page(path, root) for path in paths if path.is_file()}
