"""Measure the privacy scanner: recall per written form of contact data, and false positives.

Generates (seeded) thousands of positive samples — each a kind of personal data written one way
(grouping × prefix × numeral style × invisible characters × surrounding sentence) — and thousands
of ordinary practice-note sentences full of numbers (dates, doses, counts, percentages, money,
times, ISBNs, hotline numbers, ID-like numbers with a wrong check digit), runs
``hub.services.privacy.scan`` over them and prints:

- recall per kind, and per value of each dimension of the form (so a weak form shows up);
- the false-positive rate on the ordinary sentences, with a few examples of what was flagged;
- scanning speed.

    .venv/bin/python bench/privacy.py                    # 200 samples per kind and form family
    .venv/bin/python bench/privacy.py --per-form 50 --seed 7 --show 10
    .venv/bin/python bench/privacy.py --scanner git:a298b0b   # the scanner as it was at a commit
    .venv/bin/python bench/privacy.py --corpora                # also whole notes nobody wrote for this bench

``--corpora`` scans, field by field, text written without personal data in mind: the demo notes
(``hub/demo.py``), notes from ``bench/import_notes.py`` and ``bench/search.py``'s generators, the
hand-segmented sentences of ``bench/data/practice_notes.txt`` and every translated interface string
(``translations/*/LC_MESSAGES/messages.po``); every finding there is a false positive.

The generator knows nothing of the scanner's internals; change its vocabularies freely.
"""
from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import time
import types
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.services import privacy  # noqa: E402

Scan = Callable[..., list]

# ----------------------------------------------------------------------------- material

FULL_WIDTH = str.maketrans("0123456789+-.()@ xX", "０１２３４５６７８９＋－．（）＠　ｘＸ")
NUMERALS = {
    "chinese": dict(zip("0123456789", "零一二三四五六七八九")),
    "chinese_circle": dict(zip("0123456789", "〇一二三四五六七八九")),
    "financial": dict(zip("0123456789", "零壹贰叁肆伍陆柒捌玖")),
    "spoken": dict(zip("0123456789", "洞幺两三四五六拐八勾")),
}
INVISIBLES = {
    "zwsp": "\u200b", "zwnj": "\u200c", "zwj": "\u200d", "word_joiner": "\u2060",
    "soft_hyphen": "\u00ad", "bom": "\ufeff", "lrm": "\u200e",
}
CN_BEFORE = ["请联系", "他的手机是", "有事打", "小王电话：", "联系方式", "她说可以打", "号码是", "", "我的",
             "需要帮助请拨打", "外展时留下了", "同伴", "家属的号码", "电话", "可以找他，", "Tel:"]
CN_AFTER = ["", "。", "，谢谢", "，晚上打", "（本人）", " 随时联系", "，下周随访", "。他同意了吗？", "，不要外传",
            "！", "，找小李"]
EN_BEFORE = ["Call him on ", "Her number is ", "Reach the peer at ", "contact: ", "phone ", "", "ring ",
             "Text ", "you can call "]
EN_AFTER = ["", ".", " after 6pm.", " any time", ", thanks", " (mobile)", "; ask for Lin."]
NOTE_PHRASES = [
    "今天在美沙酮门诊做了外展", "同伴教育员陪他去做了检测", "我们在针具交换点发放了纳洛酮",
    "这次随访比较顺利", "社区小组讨论了反歧视", "他最近在找工作", "丙肝转介还在等结果",
    "We met at the drop-in centre", "The outreach team visited the clinic", "She asked about PrEP",
]

PROVINCE_CHARS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
AREA_CODES = ["010", "020", "021", "022", "023", "024", "025", "027", "028", "029", "0311", "0371",
              "0431", "0512", "0755", "0816", "0831", "0838", "0851", "0871", "0898", "0931"]
MAIL_DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "example.org", "clinic.org.cn", "hotmail.com",
                "sina.com", "foxmail.com", "outlook.com", "peer-hub.cn", "aliyun.com"]
SURNAMES = ["wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu", "xu", "sun", "ma"]
GIVEN = ["wei", "fang", "na", "min", "jing", "lei", "yan", "jun", "yong", "xiaoli", "hong", "tao", "qiang"]


@dataclass
class Sample:
    """One positive sample: the text, where the value is, and the form it was written in."""

    kind: str
    text: str
    start: int
    end: int
    form: dict[str, str] = field(default_factory=dict)


# ----------------------------------------------------------------------------- helpers


def luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    """Return a number of ``length`` digits starting with ``prefix`` that passes Luhn."""
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        candidate = body + check
        total = 0
        for position, ch in enumerate(reversed(candidate)):
            value = int(ch) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def id_check(first17: str) -> str:
    """Compute the check character from GB 11643's weight formula (2^(17-i) mod 11)."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def random_birth(rng: random.Random) -> date:
    """Return a birth date between 1940 and 2008."""
    return date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 68))


def group(digits: str, sizes: list[int]) -> list[str]:
    """Split digits into groups of the given sizes (the rest in a last group)."""
    parts, position = [], 0
    for size in sizes:
        if position >= len(digits):
            break
        parts.append(digits[position : position + size])
        position += size
    if position < len(digits):
        parts.append(digits[position:])
    return parts


def style_digits(rng: random.Random, text: str, style: str) -> str:
    """Write the digits of ``text`` in a numeral style (other characters unchanged)."""
    if style == "ascii":
        return text
    if style == "full_width":
        return text.translate(FULL_WIDTH)
    if style == "mixed":  # each digit independently as a digit or a numeral of one family
        family = NUMERALS[rng.choice(list(NUMERALS))]
        return "".join(family[ch] if ch in family and rng.random() < 0.5 else ch for ch in text)
    table = NUMERALS[style]
    return "".join(table.get(ch, ch) for ch in text)


def sprinkle(rng: random.Random, text: str, invisible: str) -> str:
    """Put an invisible character between some of the value's characters."""
    if invisible == "none":
        return text
    mark = INVISIBLES[invisible]
    return "".join(ch + (mark if i < len(text) - 1 and rng.random() < 0.4 else "") for i, ch in enumerate(text))


def surround(rng: random.Random, value: str, context: str) -> tuple[str, int, int]:
    """Place a value in a sentence; return the text and the value's offsets."""
    if context == "bare":
        before, after = "", ""
    elif context == "zh":
        before, after = rng.choice(CN_BEFORE), rng.choice(CN_AFTER)
    elif context == "en":
        before, after = rng.choice(EN_BEFORE), rng.choice(EN_AFTER)
    else:  # inside a longer note, value glued to Chinese text or after a line break
        before = rng.choice(NOTE_PHRASES) + rng.choice(["，", "。", "\n", " ", ""]) + rng.choice(CN_BEFORE)
        after = rng.choice(CN_AFTER) + rng.choice(["", "。" + rng.choice(NOTE_PHRASES)])
    return before + value + after, len(before), len(before) + len(value)


# ----------------------------------------------------------------------------- positive forms

CONTEXTS = ["bare", "zh", "en", "note"]


def phone(rng: random.Random) -> tuple[str, dict[str, str]]:
    """Write a mainland mobile number."""
    number = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    grouping = rng.choice(["none", "3-4-4", "3-3-5", "4-3-4", "every_digit", "3-8", "7-4"])
    sizes = {"none": [11], "3-4-4": [3, 4, 4], "3-3-5": [3, 3, 5], "4-3-4": [4, 3, 4], "every_digit": [1] * 11,
             "3-8": [3, 8], "7-4": [7, 4]}[grouping]
    separators = [" ", "-", ".", "/", " - ", "\u3000", "—", "－"]
    if len(sizes) <= 3:  # nobody writes a list of eleven one-digit numbers for a phone number
        separators += ["，", "、", ", ", "；"]
    separator = rng.choice(separators) if grouping != "none" else ""
    prefix = rng.choice(["none", "+86", "+86 ", "0086", "0086-", "(+86)", "(+86) ", "86 ", "+86-", "（+86）"])
    style = rng.choice(["ascii", "ascii", "full_width", "chinese", "chinese_circle", "financial", "spoken", "mixed"])
    invisible = rng.choice(["none", "none", *INVISIBLES])
    written = separator.join(group(number, sizes))
    written = ("" if prefix == "none" else prefix) + written
    written = sprinkle(rng, style_digits(rng, written, style), invisible)
    return written, {"grouping": grouping, "separator": repr(separator), "prefix": prefix, "numerals": style,
                     "invisible": invisible}


def id_number(rng: random.Random) -> tuple[str, dict[str, str]]:
    """Write a resident ID number (18 characters, or the old 15-digit form)."""
    region = rng.choice(["110101", "510104", "510107", "513401", "533102", "440305", "320102", "650102",
                         "450103", "420106", "370202", "612301", "532301", "810000", "130102"])
    born = random_birth(rng)
    old = rng.random() < 0.2
    if old:
        number = f"{region}{born:%y%m%d}{rng.randrange(1000):03d}"
        born = date(1900 + born.year % 100, born.month, born.day)
    else:
        first17 = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
        number = first17 + id_check(first17)
        if number.endswith("X") and rng.random() < 0.5:
            number = number[:-1] + "x"
    grouping = rng.choice(["none", "none", "6-8-4", "6-4-4-4", "3-3-4-4-4", "4-4-4-4-2", "every_4"])
    sizes = {"none": [18], "6-8-4": [6, 8, 4] if not old else [6, 6, 3], "6-4-4-4": [6, 4, 4, 4],
             "3-3-4-4-4": [3, 3, 4, 4, 4], "4-4-4-4-2": [4, 4, 4, 4, 2], "every_4": [4] * 5}[grouping]
    separator = rng.choice([" ", "-", " ", "\u3000"]) if grouping != "none" else ""
    style = rng.choice(["ascii", "ascii", "full_width", "mixed"])
    invisible = rng.choice(["none", "none", "zwsp", "zwj", "word_joiner"])
    written = sprinkle(rng, style_digits(rng, separator.join(group(number, sizes)), style), invisible)
    return written, {"form": "15-digit" if old else ("x" if "x" in number.lower() else "18-digit"),
                     "grouping": grouping, "numerals": style, "invisible": invisible}


def email(rng: random.Random) -> tuple[str, dict[str, str]]:
    """Write an e-mail address, plainly or obfuscated."""
    local = rng.choice([
        rng.choice(SURNAMES) + rng.choice(GIVEN),
        rng.choice(SURNAMES) + "." + rng.choice(GIVEN),
        rng.choice(SURNAMES) + str(rng.randrange(1960, 2010)),
        str(rng.randrange(10**5, 10**10)),
        rng.choice(GIVEN) + "_" + rng.choice(SURNAMES),
    ])
    domain = rng.choice(MAIL_DOMAINS)
    at = rng.choice(["@", "(at)", "[at]", " at ", "艾特", "#", "＠", " (at) ", " [at] ", "{at}", " @ ", " AT ",
                     "小老鼠", "圈a"])
    dot = rng.choice([".", ".", "[dot]", "(dot)", " dot ", "点", "．", " [dot] "]
                     + ([" . "] if at.strip() not in ("at", "AT", "#") else []))
    written = local + at + domain.replace(".", dot)
    if rng.random() < 0.2:
        written = written.upper() if rng.random() < 0.5 else written.capitalize()
    return written, {"at": repr(at), "dot": repr(dot)}


def wechat(rng: random.Random) -> tuple[str, dict[str, str]]:
    """Write a WeChat ID after one of the words people use for WeChat."""
    word = rng.choice(["微信", "微信号", "VX", "vx", "wx", "WX", "WeChat", "wechat", "威信", "V信", "v信", "薇信",
                       "加V", "微信ID"])
    joiner = rng.choice(["", " ", "：", ":", "是", " : ", "号 ", "："])
    ident = rng.choice([  # WeChat IDs: 6-20 letters, digits, _ or -, starting with a letter
        rng.choice(SURNAMES) + rng.choice(GIVEN) + str(rng.randrange(10, 9999)),
        rng.choice(SURNAMES) + "_" + rng.choice(GIVEN) + rng.choice(["", "_cd", "88"]),
        rng.choice(GIVEN) + "-" + str(rng.randrange(100, 999)),
        "wxid_" + "".join(rng.choice("abcdefghijkmnpqrstuvwxyz0123456789") for _ in range(12)),
        rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(SURNAMES),
    ])
    ident = ident if len(ident) >= 6 else ident + "2024"
    if rng.random() < 0.15:
        ident = ident.capitalize()
    shape = "letters" if ident.isalpha() else "mixed"
    return word + joiner + ident, {"word": word, "joiner": repr(joiner), "id": shape}


def qq(rng: random.Random) -> tuple[str, dict[str, str]]:
    """Write a QQ number after one of its keywords."""
    word = rng.choice(["QQ", "qq", "QQ号", "Q号", "扣扣", "企鹅", "企鹅号", "QQ群", "ＱＱ", "QQ号码", "Q：", "扣扣号"])
    joiner = rng.choice(["", " ", "：", ":", "是", " ", "号码："])
    number = str(rng.randrange(10**4, 10**rng.choice([6, 8, 9, 10])))
    style = rng.choice(["ascii", "ascii", "full_width", "chinese", "spoken", "mixed"])
    spaced = rng.random() < 0.2
    written = " ".join(group(number, [3, 3, 3, 3])) if spaced else number
    return word + joiner + style_digits(rng, written, style), {"word": word, "numerals": style,
                                                               "grouping": "spaced" if spaced else "none"}


def landline(rng: random.Random) -> tuple[str, dict[str, str]]:
    """Write a landline number with its area code."""
    area = rng.choice(AREA_CODES)
    length = 8 if len(area) == 3 else rng.choice([7, 8])
    local = rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(length - 1))
    form = rng.choice(["dash", "paren", "space", "none", "+86", "ext", "paren_space", "grouped"])
    written = {
        "dash": f"{area}-{local}",
        "paren": f"({area}){local}",
        "paren_space": f"（{area}） {local}",
        "space": f"{area} {local}",
        "none": f"{area}{local}",
        "+86": f"+86 {area[1:]} {local}",
        "ext": f"{area}-{local}" + rng.choice(["转", " 转 ", " ext. ", "-", "分机"]) + str(rng.randrange(1, 9999)),
        "grouped": f"{area}-{local[:-4]}-{local[-4:]}",
    }[form]
    style = rng.choice(["ascii", "ascii", "full_width", "chinese"])
    return style_digits(rng, written, style), {"form": form, "area": f"{len(area)}-digit", "numerals": style}


def bank_card(rng: random.Random) -> tuple[str, dict[str, str]]:
    """Write a Luhn-valid bank card number."""
    prefix, length = rng.choice([("622202", 19), ("621700", 19), ("6222", 16), ("6228", 19), ("4", 16), ("5", 16),
                                 ("62", 16), ("9558", 19), ("6259", 16)])
    number = luhn_complete(rng, prefix, length)
    grouping = rng.choice(["none", "4s", "4s", "6-13", "4-4-4-4-3"])
    sizes = {"none": [length], "4s": [4] * 5, "6-13": [6, 13], "4-4-4-4-3": [4, 4, 4, 4, 3]}[grouping]
    separator = rng.choice([" ", "-", " "]) if grouping != "none" else ""
    style = rng.choice(["ascii", "ascii", "full_width", "chinese"])
    written = style_digits(rng, separator.join(group(number, sizes)), style)
    return rng.choice(["卡号", "银行卡", "account ", "", "工资卡 "]) + written, {
        "length": str(length), "grouping": grouping, "numerals": style}


def passport(rng: random.Random) -> tuple[str, dict[str, str]]:
    """Write a Chinese passport number."""
    form = rng.choice(["E8", "EA7", "G8", "SE7"])
    digits = "".join(rng.choice("0123456789") for _ in range(8))
    number = {"E8": "E" + digits, "EA7": "E" + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + digits[:7],
              "G8": "G" + digits, "SE7": rng.choice("DSP") + "E" + digits[:7]}[form]
    if rng.random() < 0.2:
        number = number.lower()
    return rng.choice(["护照", "护照号 ", "passport ", "", "Passport No. "]) + number, {"form": form}


def travel_permit(rng: random.Random) -> tuple[str, dict[str, str]]:
    """Write a Hong Kong / Macau / Taiwan travel permit number."""
    form = rng.choice(["C8", "CA7", "H8", "H10", "M8", "M10", "T8", "W8", "taiwan8"])
    digits = "".join(rng.choice("0123456789") for _ in range(10))
    number = {"C8": "C" + digits[:8], "CA7": "C" + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + digits[:7],
              "H8": "H" + digits[:8], "H10": "H" + digits, "M8": "M" + digits[:8], "M10": "M" + digits,
              "T8": "T" + digits[:8], "W8": "W" + digits[:8], "taiwan8": digits[:8]}[form]
    word = "台胞证" if form == "taiwan8" else rng.choice(["港澳通行证", "回乡证", "通行证号 ", "", "permit "])
    return word + number, {"form": form}


def licence_plate(rng: random.Random) -> tuple[str, dict[str, str]]:
    """Write a Chinese licence plate."""
    province, letter = rng.choice(PROVINCE_CHARS), rng.choice(PLATE_LETTERS)
    form = rng.choice(["5-digits", "5-mixed", "ne-small", "ne-large"])
    digits = "".join(rng.choice("0123456789") for _ in range(5))
    body = {"5-digits": digits,
            "5-mixed": rng.choice(PLATE_LETTERS) + digits[:4] if rng.random() < 0.5 else digits[:3] + rng.choice(PLATE_LETTERS) + digits[3],
            "ne-small": rng.choice("DF") + rng.choice(PLATE_LETTERS + "0123456789") + digits[:4],
            "ne-large": digits + rng.choice("DF")}[form]
    separator = rng.choice(["", "·", " ", "-", "•"])
    written = province + rng.choice(["", "", "", " "]) + letter + separator + body
    if rng.random() < 0.15:
        written = written.lower()
    return rng.choice(["车牌", "车牌号 ", "他开", "", "plate "]) + written, {"form": form,
                                                                           "separator": repr(separator)}


CN_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何",
               "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "韩", "冯", "邓", "曹", "彭", "欧阳", "司马", "诸葛"]
CN_GIVEN = ["小明", "红", "丽", "伟", "芳", "娜", "秀英", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
            "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "文"]
EN_GIVEN = ["John", "Mary", "David", "Anna", "Minh", "Lan", "Peter", "Sarah", "Tom", "Linh"]
EN_FAMILY = ["Smith", "Nguyen", "Brown", "Tran", "Wilson", "Lee", "Taylor", "Pham"]


def name(rng: random.Random) -> tuple[str, dict[str, str]]:
    """Write a full name introduced as a name: after a label, or with a form of address."""
    if rng.random() < 0.75:
        person = rng.choice(CN_SURNAMES) + rng.choice(CN_GIVEN)
        form = rng.choice(["姓名：", "姓名: ", "真名叫", "真实姓名是", "我叫", "他叫", "她叫", "名叫", "联系人：",
                           "先生", "女士", "小姐", "English label"])
        if form == "English label":
            written = rng.choice(["Name: ", "my name is "]) + " ".join(reversed(_pinyin_like(rng, person)))
            return written, {"form": form, "_name": written.split(": ", 1)[-1].removeprefix("my name is ")}
        written = person + form if form in ("先生", "女士", "小姐") else form + person
        return written, {"form": form, "_name": person}
    person = f"{rng.choice(EN_GIVEN)} {rng.choice(EN_FAMILY)}"
    form = rng.choice(["Name: ", "Full name: ", "My name is ", "my name is ", "Mr ", "Ms ", "Mrs. ", "Miss "])
    return form + person, {"form": form.strip(), "_name": person}


def _pinyin_like(rng: random.Random, person: str) -> list[str]:
    """Return a made-up romanisation: surname and given name as two capitalised words."""
    return [rng.choice(["Xiaoming", "Hong", "Li", "Wei", "Fang"]), rng.choice(["Wang", "Li", "Zhang", "Chen"])]


GENERATORS: dict[str, Callable[[random.Random], tuple[str, dict[str, str]]]] = {
    "phone": phone, "id_number": id_number, "email": email, "wechat": wechat, "qq": qq, "landline": landline,
    "bank_card": bank_card, "passport": passport, "travel_permit": travel_permit, "licence_plate": licence_plate,
    "name": name,
}
# Where the value sits inside what the generator wrote: keyword-led kinds include their keyword.
KEYWORD_LED = {"wechat", "qq", "bank_card", "passport", "travel_permit", "licence_plate"}


def positives(rng: random.Random, per_kind: int) -> list[Sample]:
    """Generate ``per_kind`` samples of every kind."""
    samples = []
    for kind, generate in GENERATORS.items():
        for _ in range(per_kind):
            written, form = generate(rng)
            context = rng.choice(CONTEXTS if kind != "name" else ["bare", "note"])
            text, start, end = surround(rng, written, context)
            if "_name" in form:  # the label or title around a name need not be inside the finding
                start += written.index(form["_name"])
                end = start + len(form.pop("_name"))
            samples.append(Sample(kind, text, start, end, {**form, "context": context}))
    return samples


# ----------------------------------------------------------------------------- negatives

NEGATIVE_TEMPLATES = [
    "{y}年{m}月{d}日，{n}位同伴参加了培训。",
    "{y}-{mm}-{dd} 外展，发放针具 {big} 支，回收 {n} 支。",
    "美沙酮剂量从 {dose}mg 调整到 {dose2}mg，服药率 {pct}%。",
    "今年门诊共服务 {big} 人次，比去年增加 {pct}%。",
    "项目经费 ¥{money}，其中 {money2}元 用于交通补贴。",
    "下午 {h}:{mi} 开会，{h2}:{mi} 结束，{n} 人到场。",
    "参考书：ISBN {isbn}，第 {n} 页。",
    "检测 {big} 人，阳性 {small} 人，阳性率 {pct}.{small}%。",
    "CD4 计数 {big} 个/μL，病毒载量低于 {n} copies/ml。",
    "全国艾滋病咨询热线 12320，心理援助热线 {hotline}。",
    "有一份表格编号 {order}，请在 {m}/{d} 前交回。",
    "订单号 {order11}，快递单号 {tracking}。",
    "会议室在 {floor} 楼 {room} 房间，邮编 {postcode}。",
    "身份证号码写错了：{bad_id}，要重新登记。",
    "他的号码记录为 {bad_id}（校验位不对）。",
    "In {y} we reached {big} clients; {pct}% stayed on methadone for {n} months.",
    "Dose ranged from {dose} to {dose2} mg; {small} of {n} participants reported side effects.",
    "The budget was ¥{money} ({money2} RMB for transport), see ISBN {isbn}.",
    "Meeting at {h}:{mi} on {m}/{d}/{y}, room {room}, {n} people came.",
    "Between {y} and {y2}, {big} needles were exchanged at {n} sites.",
    "周{wd}和周{wd2}，{h}点到{h2}点开放，每次约 {n}-{n2} 人。",
    "{y}年第{q}季度，新增 {n} 人，累计 {big} 人。",
    "批准文号：国药准字{approval}，规格 {dose}ml:{small}mg。",
    "版本 v{small}.{n}.{small2}，更新于 {y}.{mm}.{dd}。",
    "体重 {weight}kg，身高 {height}cm，血压 {bp}/{bp2}mmHg。",
    "二〇{yy}年{mcn}月，{cn_count}位同伴参加了活动，其中{cn_small}位是新人。",
    "三三两两的人在门口等，大约{cn_small}十个人。",
    "数据：{n} {n2} {big} {small} {n}。",
    "共 {big}，{big2}，{big3} 三组。",
    "工号 {order}，医保卡号已遮盖。",
    "课时 {n}/{n2}，完成率 {pct}%，用时 {h} 小时 {mi} 分。",
    "GB/T {std}-{y}，WS {std2}-{y2}。",
    "Q{q} results: {pct}% retention, {big} visits, ID 2024-{order}.",
    "He has been on methadone since {y}; dose {dose} mg, {n} missed doses in {m} months.",
    "We used WeChat groups for {n} weeks with {big} members, and a QQ group too.",
    "微信群里有 {big} 人，QQ群有 {n} 个。",
    "剂量依次为 {dose} {dose2} {big2} {big3} {dose} mg，逐周递增。",
    "每周剂量：40 60 80 100 120 140 160 毫升，分 {n} 次。",
    "圆周率取 3.1415926535897932，误差 {pct}%。",
    "坐标 30.{order}, 104.{order}，离门诊 {small} 公里。",
    "病历号 {order}，住院号 {order}，床号 {n}。",
    "用微信 wechat pay 付款，扫码 {n} 次，共 {money2} 元。",
    "关注微信公众号，每周推送 {n} 篇，阅读量 {big}。",
    "本次调查问卷回收 {big2} 份，有效 {big3} 份，有效率 {pct}.{small}%。",
    "Q{q}: {big} visits; Q{q}/{y} target was {big2}.",
    "文件编码 {order11}，存档于 {y} 年。",
    "统一社会信用代码 91510100MA6{order}，成立于 {y} 年。",
    "时间段 {y}{mm}{dd}-{y2}{mm}{dd}，共 {n} 天。",
    "用药 {small} 片 × {n} 天 = {big2} 片，每片 {dose} 毫克。",
    "Clients aged {n}-{n2}: {big}; aged {n2}+: {big2}; total {big3}.",
    "The hotline (12320) and the clinic line (400-{big2}-{big3}) are free.",
    "Scores: {n} {n2} {small} {n} {n2} {small2} {n} {n2}, mean {n}.{small}.",
    "Page {n}, footnote {small}; DOI 10.{big2}/{order}.",
    "电话随访 {n} 次，微信随访 {n2} 次，QQ 联系 {small} 次。",
    "年龄 {n} 岁，美沙酮维持 {small} 年，每日 {dose} 毫升。",
    "坐第 {n} 路公交，{small} 站后下车，票价 {small}.{n} 元。",
    "{y}年{m}月至{y2}年{m2}月，共随访 {big} 人次，失访率 {pct}%。",
    "{sur}医生说剂量可以减到 {dose} 毫升，{sur2}老师也来了。",
    "谢谢{sur}先生和{sur2}女士的支持，{n} 位同伴参加。",
    "我们和{sur}先生谈了 {n} 分钟，他叫了车送大家回去。",
    "实名制登记 {n} 人，名字不重要，联系人员有 {small} 位。",
    "{sur}姐和{sur2}哥在门诊值班，小{sur}负责登记 {n} 人。",
    "老{sur}和{sur2}阿姨带了 {n} 份早餐，向{sur2}先生借了桌子。",
    "Mr {en} and Ms {en2} from the CDC joined {n} peers; the project name: Harm Reduction Hub.",
    "The drug is called Suboxone; {n} clients asked Dr {en} about it.",
    "{sur}女士说，高兴的是今年有 {n} 人坚持服药。",
]
NEGATIVE_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "周", "高", "马", "林", "谢", "向", "金", "文"]
CN_DIGITS = "零一二三四五六七八九"


def _bad_id(rng: random.Random) -> str:
    first17 = f"{rng.choice(['510104', '110101', '533102', '440305'])}{random_birth(rng):%Y%m%d}{rng.randrange(1000):03d}"
    good = id_check(first17)
    return first17 + rng.choice([c for c in "0123456789X" if c != good])


def _cn_number(n: int) -> str:
    return "".join(CN_DIGITS[int(ch)] for ch in str(n))


def negatives(rng: random.Random, count: int) -> list[str]:
    """Generate ``count`` ordinary sentences with numbers in them."""
    sentences = []
    for _ in range(count):
        y = rng.randrange(2005, 2030)
        values = {
            "y": y, "y2": y + rng.randrange(1, 5), "yy": f"{y % 100:02d}".translate(str.maketrans("0123456789", "〇一二三四五六七八九")),
            "m": rng.randrange(1, 13), "m2": rng.randrange(1, 13), "d": rng.randrange(1, 29),
            "mm": f"{rng.randrange(1, 13):02d}", "dd": f"{rng.randrange(1, 29):02d}",
            "n": rng.randrange(1, 100), "n2": rng.randrange(1, 100), "small": rng.randrange(1, 10),
            "small2": rng.randrange(0, 10), "big": rng.randrange(100, 100000), "big2": rng.randrange(100, 9999),
            "big3": rng.randrange(100, 9999), "dose": rng.choice([20, 30, 40, 60, 80, 100, 120]),
            "dose2": rng.choice([60, 80, 100, 120, 150]), "pct": rng.randrange(1, 100),
            "money": rng.choice([f"{rng.randrange(1000, 999999):,}", str(rng.randrange(1000, 9999999))]),
            "money2": rng.randrange(100, 99999), "h": rng.randrange(7, 22), "h2": rng.randrange(8, 23),
            "mi": f"{rng.randrange(0, 60):02d}",
            "isbn": rng.choice([f"978-7-{rng.randrange(100, 9999)}-{rng.randrange(1000, 9999)}-{rng.randrange(10)}",
                                f"978{rng.randrange(10**9, 10**10)}", f"7-{rng.randrange(100, 9999)}-{rng.randrange(1000, 9999)}-X"]),
            "hotline": rng.choice(["400-161-9995", "12356", "12320-5", "800-810-1117"]),
            "order": rng.randrange(10**5, 10**9), "order11": "1" + str(rng.randrange(10**9, 10**10)),
            "tracking": f"SF{rng.randrange(10**11, 10**12)}", "floor": rng.randrange(1, 30),
            "room": rng.randrange(100, 3000), "postcode": rng.randrange(100000, 860000),
            "bad_id": _bad_id(rng), "wd": rng.choice("一二三四五六日"), "wd2": rng.choice("一二三四五六日"),
            "q": rng.randrange(1, 5), "approval": rng.choice("HZSJ") + f"{rng.randrange(1990, 2025)}{rng.randrange(10000):04d}",
            "weight": rng.randrange(40, 100), "height": rng.randrange(150, 195), "bp": rng.randrange(90, 160),
            "bp2": rng.randrange(60, 100), "mcn": rng.choice(["一", "二", "三", "十", "十二"]),
            "cn_count": rng.choice(["五", "十二", "二十三", "一百"]), "cn_small": rng.choice("二三四五六七八九"),
            "std": rng.randrange(1000, 30000), "std2": rng.randrange(100, 999),
            "sur": rng.choice(NEGATIVE_SURNAMES), "sur2": rng.choice(NEGATIVE_SURNAMES),
            "en": rng.choice(EN_FAMILY), "en2": rng.choice(EN_FAMILY),
        }
        template = rng.choice(NEGATIVE_TEMPLATES)
        sentence = template.format(**values)
        if rng.random() < 0.3:  # two sentences run together, as in a note
            sentence = rng.choice(NOTE_PHRASES) + "，" + sentence
        sentences.append(sentence)
    return sentences


# ----------------------------------------------------------------------------- measuring


def load_scanner(spec: str) -> Scan:
    """Return ``scan`` of the current code, or of hub/services/privacy.py at a git revision ("git:REV")."""
    if spec == "current":
        return privacy.scan
    revision = spec.removeprefix("git:")
    source = subprocess.run(["git", "show", f"{revision}:hub/services/privacy.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType("privacy_at_" + revision)
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:hub/services/privacy.py", "exec"), module.__dict__)
    return module.scan


def found(scan: Scan, sample: Sample) -> bool:
    """Return True if a finding of the sample's kind covers the value's digits and letters."""
    value = sample.text[sample.start : sample.end]
    core = [i for i, ch in enumerate(value, sample.start) if ch.isalnum() and ch not in "号"]
    if sample.kind in KEYWORD_LED:  # the keyword itself need not be inside the finding
        core = core[-4:]
    first, last = core[0], core[-1]
    return any(f.kind == sample.kind and f.start <= first and f.end > last for f in scan({"body": sample.text}))


def corpora(notes: int, seed: int) -> dict[str, list[dict[str, str]]]:
    """Return texts written without personal data, by source, as the fields the hub scans."""
    from babel.messages.pofile import read_po

    from bench import import_notes, search
    from hub import demo
    from hub.services import vocabulary

    rng = random.Random(seed)
    generator = search.CorpusGenerator(seed, [slug for slug, *_ in vocabulary.TOPICS],
                                       [slug for slug, *_ in vocabulary.POPULATIONS])
    fields = ("title", "summary", "body")
    lines = (ROOT / "bench" / "data" / "practice_notes.txt").read_text(encoding="utf-8").splitlines()
    interface = []
    for language in ("zh_Hans", "en"):
        with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as stream:
            for message in read_po(stream):
                for text in message.string if isinstance(message.string, tuple) else (message.string,):
                    interface.append({"body": text})
    return {
        "demo notes": [dict(zip(fields, note[1:4])) for note in demo.NOTES],
        "import_notes.py": [{f: import_notes.make_record(rng, n)[f] for f in fields} for n in range(notes)],
        "search.py": [{f: generator.note(n)[f] for f in fields} for n in range(notes)],
        "practice_notes.txt": [{"body": re.sub(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])", "", line)}
                               for line in lines if line and not line.startswith("#")],
        "interface strings": interface,
    }


def scan_corpora(scan: Scan, notes: int, seed: int, show: int) -> None:
    """Print how many texts of each corpus the scanner flags, by kind, with a few examples."""
    print(f"\nWhole texts written without personal data ({notes} generated notes per generator):")
    print(f"  {'corpus':<20} {'texts':>6} {'flagged':>8}  kinds")
    examples: list[str] = []
    for name, texts in corpora(notes, seed).items():
        kinds: dict[str, int] = defaultdict(int)
        flagged = 0
        for fields in texts:
            findings = scan(fields)
            flagged += bool(findings)
            for finding in findings:
                kinds[finding.kind] += 1
                examples.append(f"  {name}: {finding.kind} "
                                f"{fields[finding.field][max(0, finding.start - 12):finding.end + 12]!r}")
        print(f"  {name:<20} {len(texts):>6} {flagged:>8}  {dict(kinds) or ''}")
    for example in examples[:show * 2]:
        print(example)


def main() -> None:
    """Generate, scan, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-form", type=int, default=200, help="positive samples per kind (default 200)")
    parser.add_argument("--negatives", type=int, default=5000, help="ordinary sentences (default 5000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show", type=int, default=5, help="misses and false positives to print per kind")
    parser.add_argument("--scanner", default="current", help='"current" (default) or "git:REV" for a baseline')
    parser.add_argument("--corpora", action="store_true", help="also scan demo notes, generated notes and UI text")
    parser.add_argument("--corpus-notes", type=int, default=2000, help="notes per generator (default 2000)")
    parser.add_argument("--repeat", type=int, default=4, help="more passes for the speed figure (default 4)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    scan = load_scanner(args.scanner)

    samples = positives(rng, args.per_form)
    started = time.perf_counter()
    results = [(sample, found(scan, sample)) for sample in samples]
    positive_seconds = time.perf_counter() - started

    print(f"Recall: {len(samples)} positive samples, seed {args.seed}, scanner {args.scanner}\n")
    by_kind: dict[str, list[bool]] = defaultdict(list)
    by_dimension: dict[tuple[str, str, str], list[bool]] = defaultdict(list)
    misses: dict[str, list[str]] = defaultdict(list)
    for sample, hit in results:
        by_kind[sample.kind].append(hit)
        for dimension, value in sample.form.items():
            by_dimension[(sample.kind, dimension, value)].append(hit)
        if not hit:
            misses[sample.kind].append(sample.text)
    total_hits = sum(hit for _, hit in results)
    print(f"{'kind':<15} {'samples':>8} {'recall':>8}")
    for kind, hits in by_kind.items():
        print(f"{kind:<15} {len(hits):>8} {100 * sum(hits) / len(hits):>7.1f}%")
    print(f"{'all':<15} {len(results):>8} {100 * total_hits / len(results):>7.1f}%\n")

    print("Recall per form (kind · dimension = value), weakest first:")
    rows = sorted(by_dimension.items(), key=lambda item: (sum(item[1]) / len(item[1]), item[0]))
    for (kind, dimension, value), hits in rows:
        print(f"  {kind:<14} {dimension:<10} {value:<16} {len(hits):>5} {100 * sum(hits) / len(hits):>6.1f}%")
    for kind, texts in misses.items():
        for text in texts[: args.show]:
            print(f"  missed {kind}: {text!r}")

    sentences = negatives(rng, args.negatives)
    started = time.perf_counter()
    flagged = [(s, scan({"body": s})) for s in sentences]
    negative_seconds = time.perf_counter() - started
    false = [(s, f) for s, f in flagged if f]
    print(f"\nFalse positives: {len(false)} of {len(sentences)} ordinary sentences flagged "
          f"({100 * len(false) / len(sentences):.2f} %)")
    for sentence, findings in false[: args.show * 2]:
        print(f"  flagged {[(f.kind, sentence[f.start:f.end]) for f in findings]} in {sentence!r}")

    texts = [sample.text for sample in samples] + sentences
    characters = sum(map(len, texts))
    seconds = positive_seconds + negative_seconds
    cpu = seconds
    for _ in range(args.repeat):  # the fastest pass is the one other processes on the machine disturbed least
        started, started_cpu = time.perf_counter(), time.process_time()
        for text in texts:
            scan({"body": text})
        seconds = min(seconds, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)  # CPU time: steadier than the clock on a busy machine
    print(f"\nSpeed (fastest of {args.repeat + 1} passes): {len(texts)} texts, {characters} characters in "
          f"{seconds:.2f} s ({characters / seconds / 1000:.0f} k characters/s), {cpu:.2f} s of CPU "
          f"({characters / cpu / 1000:.0f} k characters per CPU second)")
    if args.corpora:
        scan_corpora(scan, args.corpus_notes, args.seed, args.show)


if __name__ == "__main__":
    main()
