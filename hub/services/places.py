"""China's provincial-level divisions, and reading a note's free-text province as one of them.

Notes name their province as people write it: 四川, 四川省, 广西壮族自治区, Sichuan, "Inner Mongolia".
:func:`province_code` maps each of these to the ISO 3166-2:CN code (``SC``) or None.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Province:
    """A provincial-level division: its ISO 3166-2:CN code and names."""

    code: str
    zh: str
    en: str

    def name(self, locale: str) -> str:
        """Return the name in ``locale``."""
        return self.zh if str(locale).startswith("zh") else self.en


PROVINCES = (
    Province("BJ", "北京", "Beijing"), Province("TJ", "天津", "Tianjin"), Province("HE", "河北", "Hebei"),
    Province("SX", "山西", "Shanxi"), Province("NM", "内蒙古", "Inner Mongolia"), Province("LN", "辽宁", "Liaoning"),
    Province("JL", "吉林", "Jilin"), Province("HL", "黑龙江", "Heilongjiang"), Province("SH", "上海", "Shanghai"),
    Province("JS", "江苏", "Jiangsu"), Province("ZJ", "浙江", "Zhejiang"), Province("AH", "安徽", "Anhui"),
    Province("FJ", "福建", "Fujian"), Province("JX", "江西", "Jiangxi"), Province("SD", "山东", "Shandong"),
    Province("HA", "河南", "Henan"), Province("HB", "湖北", "Hubei"), Province("HN", "湖南", "Hunan"),
    Province("GD", "广东", "Guangdong"), Province("GX", "广西", "Guangxi"), Province("HI", "海南", "Hainan"),
    Province("CQ", "重庆", "Chongqing"), Province("SC", "四川", "Sichuan"), Province("GZ", "贵州", "Guizhou"),
    Province("YN", "云南", "Yunnan"), Province("XZ", "西藏", "Tibet"), Province("SN", "陕西", "Shaanxi"),
    Province("GS", "甘肃", "Gansu"), Province("QH", "青海", "Qinghai"), Province("NX", "宁夏", "Ningxia"),
    Province("XJ", "新疆", "Xinjiang"), Province("TW", "台湾", "Taiwan"), Province("HK", "香港", "Hong Kong"),
    Province("MO", "澳门", "Macao"),
)
BY_CODE = {p.code: p for p in PROVINCES}
# The longest first: "维吾尔自治区" must go before "自治区".
SUFFIXES = re.compile(r"(壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市)$")
ALIASES = {"内蒙古自治区": "NM", "xizang": "XZ", "macau": "MO", "inner mongolia": "NM", "hongkong": "HK",
           "shaanxi": "SN", "shanxi": "SX"}
_LOOKUP = {**{p.zh: p.code for p in PROVINCES}, **{p.en.lower(): p.code for p in PROVINCES}, **ALIASES}


def province_code(text: str | None) -> str | None:
    """Return the code of the province ``text`` names (Chinese or English, with or without 省/市/自治区)."""
    if not text:
        return None
    cleaned = text.strip()
    lowered = re.sub(r"\s+(province|municipality|sar)$", "", cleaned.lower())
    return _LOOKUP.get(cleaned) or _LOOKUP.get(SUFFIXES.sub("", cleaned)) or _LOOKUP.get(lowered)
