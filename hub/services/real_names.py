"""Find people's real names where the text itself says that a name follows, for the privacy check.

A detector of every name would flag half the words of a Chinese note (王, 高, 金, 文 are surnames
and everyday characters). Like the name recognisers of mature PII tools, this one only takes the
narrow, precise part: a name the text introduces as a name, and only full names (a surname alone,
王先生, identifies nobody):

- after a label or "is called": 姓名：王小明, 真名叫王小明, 我叫王小明, 联系人 李红, Name: John Smith,
  my name is John Smith, Name: 王小明 (in Chinese a common surname, single or compound, and one or two
  more characters; in Latin letters two or three capitalised words), whichever language the label is in;
- before or after a form of address: 王小明先生, 李红女士, 陈丽小姐, Mr John Smith, Ms Wang Li.

:func:`find` returns offsets of the name alone (never the label or title) into the text as given.
Which of the names are pseudonyms the hub shows anyway is for the caller to decide.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

# The 200 most common single surnames of mainland China (in order, after the Ministry of Public
# Security's name statistics); together they cover close to nine people in ten.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟"
    "姜崔谭陆范汪廖石金韦贾夏付傅方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向常汤康易乔"
    "赖文施洪辛柴牛温芦樊葛邢安齐伍庞颜倪聂章鲁岳翟殷詹申耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成"
    "苗谷盛曲翁冉骆蓝路游辜靳管柏景卓车喻宫巫滕房苟雍麻卜刁谈饶娄桂商解时鲍苑戚晏伊匡湛练迟沙邬鞠植阎"
)
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 独孤 南宫 西门 百里 呼延 "
    "万俟 申屠 太史 钟离 闻人 澹台 公冶 宗政 濮阳 淳于 单于 仲孙 赫连 拓跋 东郭 左丘 第五".split()
)
# Surnames that are almost never part of a given name: after 向 or 谢谢 they start the name
# ("向王先生" is Mr Wang, not 向王).
_LEADING = frozenset("王李张刘陈杨黄赵吴周徐孙胡朱郭何罗梁宋郑谢韩唐冯邓曹彭曾肖蔡潘袁蒋")
# Characters that end a name rather than belong to it: particles, pronouns, common verbs.
_NOT_IN_NAME = frozenset(
    "的了是在和与跟及或说讲问告诉去来也就都把被给让请对向从到吧呢吗啊呀哦嘛今昨已还又再很不没这那他她它我你您们个"
    "先女姓叫名为住做得着过等岁年月日号电手微联系今后前里上下中于"
)
# Words that follow a surname as a title, not a given name (王医生, 李老师).
_TITLES = re.compile(
    "医生|大夫|护士|老师|警官|警察|所长|主任|院长|经理|老板|书记|站长|局长|社工|阿姨|叔叔|大姐|大哥|大爷|大妈|师傅|同学|同志|总|工"
)
_HAN = re.compile(r"[\u4e00-\u9fff]")

# A label or "is called" before a Chinese name; "：", "是", "叫" or spaces may follow.
_CN_LABEL = re.compile(  # the look-ahead lets the regex engine skip to candidate characters quickly
    r"(?=[真姓本原实全名联我他她对])(?:真实姓名|姓名|真名|本名|原名|实名|全名|名字|联系人|名叫|(?:我|他|她|本人|对方)叫)"
    r"(?:\*\*|__)?[ \t]*(?:是|叫|为|[:：])?[ \t]*(?:\*\*|__)?"
)
_CN_TITLE = re.compile(r"先生|女士|小姐")
_LATIN_NAME = r"[A-Z][a-z]+(?:['’-][A-Za-z][a-z]+)?(?: [A-Z][a-z]+(?:['’-][A-Za-z][a-z]+)?){1,2}(?![A-Za-z])"
# "Name:" only where a form's label starts (line start, after a separator or Chinese text): "Project
# name:" is no person's. Chinese characters count as letters for \b, hence the look-behinds.
_EN_LABEL = re.compile(
    r"(?i:(?:(?<![a-z'])(?:my|his|her|their|real|full|legal|client's|patient's) name(?: is|'s)"
    r"|(?:^|(?<=[\n(|;,，。；：:（\u4e00-\u9fff]))[ \t]*(?:(?:full|real|legal) )?name[ \t]*[:：])"
    r"|(?<![A-Za-z])(?:Mrs|Mr|Ms|Miss|Mx)(?![A-Za-z])\.?)[ \t]*(?:\*\*|__)?",
    re.MULTILINE,
)
_LATIN_AFTER_LABEL = re.compile(_LATIN_NAME)


def find(text: str) -> Iterator[tuple[int, int]]:
    """Yield [start, end) of each full name the text introduces as a name."""
    # Plain substring tests first: most texts have no label or title, and "in" is far cheaper than a regex.
    if ("名" in text or "叫" in text or "联系人" in text) and _HAN.search(text):
        for label in _CN_LABEL.finditer(text):
            span = _chinese_name_at(text, label.end()) or _latin_name_at(text, label.end())
            if span:
                yield span
    if "先生" in text or "女士" in text or "小姐" in text:
        for title in _CN_TITLE.finditer(text):
            if span := _chinese_name_before(text, title.start()):
                yield span
    if "ame" in text or "AME" in text or "M" in text:  # name, NAME, Mr, Ms, Mrs, Miss, Mx
        # English notes about Chinese clients write "Name: 王小明" as often as "Name: Wang Xiaoming".
        for label in _EN_LABEL.finditer(text):
            span = _latin_name_at(text, label.end()) or _chinese_name_at(text, label.end())
            if span:
                yield span


def _given_name(text: str, start: int, most: int) -> int:
    """Return where a given name starting at ``start`` ends (``start`` if there is none)."""
    end = start
    while end < min(len(text), start + most) and _HAN.match(text[end]) and text[end] not in _NOT_IN_NAME:
        end += 1
    return end


def _chinese_name_at(text: str, start: int) -> tuple[int, int] | None:
    """Return the span of a full Chinese name starting at ``start``, or None."""
    surname = 2 if text[start:start + 2] in COMPOUND_SURNAMES else int(text[start:start + 1] in SURNAMES)
    if not surname or _TITLES.match(text, start + surname):
        return None
    end = _given_name(text, start + surname, 2)
    return (start, end) if end > start + surname else None


def _chinese_name_before(text: str, title: int) -> tuple[int, int] | None:
    """Return the span of a full Chinese name ending at ``title`` (王小明先生), or None."""
    for surname, given in ((2, 2), (2, 1), (1, 2), (1, 1)):
        start = title - surname - given
        if start < 0 or _given_name(text, start + surname, given) != title:
            continue
        family = text[start:start + surname]
        if family not in (COMPOUND_SURNAMES if surname == 2 else SURNAMES):
            continue
        if surname == 1 and _word_then_surname(text[start + 1:title]):
            continue
        return start, title
    return None


def _word_then_surname(given: str) -> bool:
    """Tell whether a surname and ``given`` before a title read better as a word and a surname alone.

    谢谢王先生, 感谢王明先生, 向高先生, 上周高女士, 每周五王先生: the title goes with the last
    surname (Mr Wang), and a surname alone names nobody. Real given names rarely hold the most common
    surnames, and a one-character given name that is a surname at all is too uncertain to report.
    """
    return given[0] in _LEADING or given[-1] in _LEADING or (len(given) == 1 and given in SURNAMES)


def _latin_name_at(text: str, start: int) -> tuple[int, int] | None:
    """Return the span of two or three capitalised words starting at ``start`` (姓名：Wang Li), or None."""
    match = _LATIN_AFTER_LABEL.match(text, start)
    return match.span() if match else None
