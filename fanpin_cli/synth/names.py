"""Chinese personal names: weighted draws that make 同名同姓 common, and the name faults clerks meet.

>>> homophone_variant("王晓丽", np.random.default_rng(0)) != "王晓丽"
True
"""

from __future__ import annotations

import re

import numpy as np

# Common surnames with rough weights; 彭 向 田 符 王 张 李 are frequent among Yongshun's Tujia/Miao.
_SURNAMES = (
    "彭40 向30 田28 王26 张22 李22 符12 覃10 黄10 杨10 龙9 胡9 宋8 汪8 贾6 瞿5 鲁5 刘14 陈10 "
    "赵6 吴7 周6 徐5 孙4 马4 朱4 郭4 何5 高4 林4 罗5 郑3 梁3 谢4 唐6 许3 韩2 冯3 邓4 曹3 曾4 "
    "肖4 董3 袁3 潘3 于2 蒋3 蔡2 余3 杜3 叶2 程2 苏2 魏2 吕2 丁2 任2 沈2 姚2 卢2 姜2 崔1 钟2 "
    "谭4 陆2 范2 金2 石5 廖3 夏2 韦2 付3 方2 白2 邹2 孟1 熊3 秦2 邱2 江3 尹2 薛1 闫1 段2 雷3 "
    "侯2 史1 陶2 黎2 贺3 顾1 毛2 郝1 龚2 邵2 万2 钱1 严2 武1 戴2 莫2 孔1 汤2 滕3 尚2 麻3 "
    "欧阳1 司马0.3 上官0.3 诸葛0.2"
)
_PAIRS = [re.fullmatch(r"(\D+)([\d.]+)", t).groups() for t in _SURNAMES.split()]
SURNAMES: tuple[str, ...] = tuple(name for name, _ in _PAIRS)
SURNAME_WEIGHTS = np.array([float(w) for _, w in _PAIRS])

# Given-name characters, most common first (draws follow a Zipf law so names repeat often).
MALE_CHARS = tuple("伟军勇华明强平建国志文杰海涛超辉斌波林峰东龙飞成俊鹏亮宇浩磊兵春生云祥福贵富德武家宏永远清光昌顺金刚红兴茂荣仁军胜贤")
FEMALE_CHARS = tuple("芳丽英华秀敏静燕红梅兰玲霞娟艳慧小晓琴凤萍婷雪琳莉桂翠春菊花月莲玉珍青巧美娜云香")
FIRST_CHARS = tuple("小晓永国建红春海金文志明德家光学世宏新中立")

# Uyghur-style names (given + father's name, joined with U+00B7).
MINORITY_FEMALE = ("阿依古丽", "古丽娜尔", "热依拉", "帕提古丽", "迪丽努尔", "米热古丽", "阿依努尔", "祖丽皮耶")
MINORITY_MALE = ("买买提", "艾力", "阿卜杜拉", "吐尔逊", "努尔买买提", "阿卜杜热合曼", "依明", "艾合买提江")
MINORITY_FATHER = ("买买提", "吐尔逊", "艾合买提", "热合曼", "阿不都克热木", "司马义", "依明", "卡德尔", "阿卜杜克热木")

HOMOPHONES: dict[str, str] = {
    "晓": "小", "小": "晓", "丽": "莉", "莉": "丽", "伟": "玮", "华": "化", "明": "铭", "军": "君",
    "红": "宏", "宏": "红", "芳": "方", "英": "瑛", "燕": "艳", "艳": "燕", "婷": "亭", "杰": "洁",
    "刚": "钢", "勇": "永", "永": "勇", "涛": "滔", "平": "萍", "萍": "平", "云": "芸", "斌": "彬",
    "峰": "锋", "辉": "晖", "志": "智", "建": "健", "文": "雯", "霞": "侠", "梅": "玫", "兰": "岚",
    "金": "今", "成": "诚", "林": "琳", "琳": "林", "娟": "鹃", "慧": "惠", "清": "青", "青": "清",
    "凤": "风", "桂": "贵", "贵": "桂", "玲": "灵", "珍": "真", "东": "冬", "春": "纯", "海": "还",
}
SHAPES: dict[str, str] = {
    "王": "玉", "玉": "王", "田": "由", "侯": "候", "天": "夫", "大": "太", "土": "士", "人": "入", "汪": "江",
    "杨": "扬", "萍": "苹", "玲": "铃", "晴": "睛", "未": "末", "己": "已", "祝": "视", "刁": "习",
    "贾": "贯", "符": "苻", "覃": "谭", "龙": "尤", "明": "朋", "刘": "浏",
}
DOT_VARIANTS = ("•", "・", "．", ".", " ", "‧")


def _zipf(n: int, s: float = 1.0) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def draw_names(rng: np.random.Generator, male: np.ndarray, minority: np.ndarray) -> np.ndarray:
    """Names for persons of the given sex; `minority` rows get dotted Uyghur-style names."""
    n = male.size
    sw = SURNAME_WEIGHTS / SURNAME_WEIGHTS.sum()
    sur = np.asarray(SURNAMES)[rng.choice(len(SURNAMES), n, p=sw)]
    mc = np.asarray(MALE_CHARS)[rng.choice(len(MALE_CHARS), n, p=_zipf(len(MALE_CHARS), 0.9))]
    fc = np.asarray(FEMALE_CHARS)[rng.choice(len(FEMALE_CHARS), n, p=_zipf(len(FEMALE_CHARS), 0.9))]
    last = np.where(male, mc, fc)
    first = np.asarray(FIRST_CHARS)[rng.choice(len(FIRST_CHARS), n, p=_zipf(len(FIRST_CHARS), 1.1))]
    mc2 = np.asarray(MALE_CHARS)[rng.choice(len(MALE_CHARS), n, p=_zipf(len(MALE_CHARS), 1.1))]
    fc2 = np.asarray(FEMALE_CHARS)[rng.choice(len(FEMALE_CHARS), n, p=_zipf(len(FEMALE_CHARS), 1.1))]
    first = np.where(rng.random(n) < 0.45, first, np.where(male, mc2, fc2))
    two = rng.random(n) < 0.72
    given = np.where(two, np.char.add(first, last), last)
    names = np.char.add(sur, given).astype(object)
    idx = np.flatnonzero(minority)
    if idx.size:
        fem = np.asarray(MINORITY_FEMALE)[rng.integers(0, len(MINORITY_FEMALE), idx.size)]
        mal = np.asarray(MINORITY_MALE)[rng.integers(0, len(MINORITY_MALE), idx.size)]
        fat = np.asarray(MINORITY_FATHER)[rng.integers(0, len(MINORITY_FATHER), idx.size)]
        g = np.where(male[idx], mal, fem)
        names[idx] = np.char.add(np.char.add(g, "·"), fat).astype(object)
    return names


_S2T: dict[int, str] = {}


def traditional_table() -> dict[int, str]:
    """Per-character simplified → traditional map for the characters names are drawn from."""
    if not _S2T:
        import opencc

        conv = opencc.OpenCC("s2t")
        chars = set("".join(SURNAMES)) | set(MALE_CHARS) | set(FEMALE_CHARS) | set(FIRST_CHARS)
        for ch in sorted(chars):
            t = conv.convert(ch)
            if t != ch and len(t) == 1:
                _S2T[ord(ch)] = t
    return _S2T


def can_traditional(name: str) -> bool:
    """True if the name has at least one character with a distinct traditional form."""
    table = traditional_table()
    return any(ord(c) in table for c in name)


def traditional(name: str) -> str:
    """The name in traditional characters (張偉)."""
    return name.translate(traditional_table())


def _swap_one(name: str, table: dict[str, str], rng: np.random.Generator) -> str:
    pos = [i for i, c in enumerate(name) if c in table]
    if not pos:
        return name
    i = pos[int(rng.integers(0, len(pos)))]
    return name[:i] + table[name[i]] + name[i + 1:]


def homophone_variant(name: str, rng: np.random.Generator) -> str:
    """One character replaced by a same-pinyin character (晓/小, 丽/莉)."""
    return _swap_one(name, HOMOPHONES, rng)


def shape_variant(name: str, rng: np.random.Generator) -> str:
    """One character replaced by a similar-looking one (王/玉)."""
    return _swap_one(name, SHAPES, rng)


def spaced(name: str, rng: np.random.Generator, space: str = " ") -> str:
    """A space inside the name (王 芳), or trailing for one-character given names."""
    if len(name) < 2 or rng.random() < 0.15:
        return name + space
    i = 1 if len(name) <= 3 or rng.random() < 0.5 else 2
    return name[:i] + space + name[i:]


def dot_variant(name: str, rng: np.random.Generator) -> str:
    """The middle dot of a minority name replaced by a look-alike or a space."""
    return name.replace("·", DOT_VARIANTS[int(rng.integers(0, len(DOT_VARIANTS)))])
