"""The 66 books of the Protestant Bible canon under the names each Debian source gives them.

The book is the document unit of every verse-keyed source (the KJV, the WEB and the commentaries on them), so
one book's text from all sources lands in one split: a commentary that quotes a dev/test book never reaches
the LM text through a side door. Columns: SWORD key name (``mod2imp``), OSIS id (milestones inside SWORD
markup), ``bible`` (bible-kjv) reference prefix.
"""

from __future__ import annotations

BOOKS: tuple[tuple[str, str, str], ...] = (
    ("Genesis", "Gen", "Ge"),
    ("Exodus", "Exod", "Exo"),
    ("Leviticus", "Lev", "Lev"),
    ("Numbers", "Num", "Num"),
    ("Deuteronomy", "Deut", "Deu"),
    ("Joshua", "Josh", "Josh"),
    ("Judges", "Judg", "Jdgs"),
    ("Ruth", "Ruth", "Ruth"),
    ("I Samuel", "1Sam", "1Sm"),
    ("II Samuel", "2Sam", "2Sm"),
    ("I Kings", "1Kgs", "1Ki"),
    ("II Kings", "2Kgs", "2Ki"),
    ("I Chronicles", "1Chr", "1Chr"),
    ("II Chronicles", "2Chr", "2Chr"),
    ("Ezra", "Ezra", "Ezra"),
    ("Nehemiah", "Neh", "Neh"),
    ("Esther", "Esth", "Est"),
    ("Job", "Job", "Job"),
    ("Psalms", "Ps", "Psa"),
    ("Proverbs", "Prov", "Prv"),
    ("Ecclesiastes", "Eccl", "Eccl"),
    ("Song of Solomon", "Song", "SSol"),
    ("Isaiah", "Isa", "Isa"),
    ("Jeremiah", "Jer", "Jer"),
    ("Lamentations", "Lam", "Lam"),
    ("Ezekiel", "Ezek", "Eze"),
    ("Daniel", "Dan", "Dan"),
    ("Hosea", "Hos", "Hos"),
    ("Joel", "Joel", "Joel"),
    ("Amos", "Amos", "Amos"),
    ("Obadiah", "Obad", "Obad"),
    ("Jonah", "Jonah", "Jonah"),
    ("Micah", "Mic", "Mic"),
    ("Nahum", "Nah", "Nahum"),
    ("Habakkuk", "Hab", "Hab"),
    ("Zephaniah", "Zeph", "Zep"),
    ("Haggai", "Hag", "Hag"),
    ("Zechariah", "Zech", "Zec"),
    ("Malachi", "Mal", "Mal"),
    ("Matthew", "Matt", "Mat"),
    ("Mark", "Mark", "Mark"),
    ("Luke", "Luke", "Luke"),
    ("John", "John", "John"),
    ("Acts", "Acts", "Acts"),
    ("Romans", "Rom", "Rom"),
    ("I Corinthians", "1Cor", "1Cor"),
    ("II Corinthians", "2Cor", "2Cor"),
    ("Galatians", "Gal", "Gal"),
    ("Ephesians", "Eph", "Eph"),
    ("Philippians", "Phil", "Phi"),
    ("Colossians", "Col", "Col"),
    ("I Thessalonians", "1Thess", "1Th"),
    ("II Thessalonians", "2Thess", "2Th"),
    ("I Timothy", "1Tim", "1Tim"),
    ("II Timothy", "2Tim", "2Tim"),
    ("Titus", "Titus", "Titus"),
    ("Philemon", "Phlm", "Phmn"),
    ("Hebrews", "Heb", "Heb"),
    ("James", "Jas", "Jas"),
    ("I Peter", "1Pet", "1Pet"),
    ("II Peter", "2Pet", "2Pet"),
    ("I John", "1John", "1Jn"),
    ("II John", "2John", "2Jn"),
    ("III John", "3John", "3Jn"),
    ("Jude", "Jude", "Jude"),
    ("Revelation of John", "Rev", "Rev"),
)
BY_SWORD_NAME = {sword: osis for sword, osis, _ in BOOKS}
BY_OSIS_ID = {osis: osis for _, osis, _ in BOOKS}
BY_KJV_PREFIX = {kjv: osis for _, osis, kjv in BOOKS}


def book_group(osis_id: str) -> str:
    """Return the document group of a Bible book (shared by every verse-keyed source)."""
    return f"bible:{osis_id}"
