"""Context around a mark in a title: counterfeit cues, descriptive/compatibility use, kind of goods.

The word lists are domain vocabulary (marketplace slang for fakes, compatibility phrasing, common
goods words with their Nice class), written once for every mark, not per test case.
"""
from __future__ import annotations

import re

# Cue words sellers of fakes use. Matched case-insensitively on the NFKC-folded title.
COUNTERFEIT_CUES = (
    "高仿", "精仿", "原单", "尾单", "a货", "1:1", "1比1", "复刻", "超a", "顶级复刻", "莆田", "仿品", "仿牌",
    "山寨", "同款", "代购级", "原厂货", "replica", "fake", "aaa", "mirror quality", "inspired by",
    "knockoff", "knock-off", "copy", "dupe", "unbranded version", "1to1", "top quality copy",
)
_CUE_RE = re.compile("|".join(
    (r"(?<![a-z])" + re.escape(c) + r"(?![a-z])") if c.isascii() and c[0].isalpha() else re.escape(c)
    for c in sorted(COUNTERFEIT_CUES, key=len, reverse=True)))

# Phrases that introduce the mark as what the goods fit, not what they are. `{}` is where the mark
# stands; the detector checks the text just before / after the mark's span.
COMPAT_BEFORE = ("适用于", "适用", "适配", "兼容", "专用于", "for ", "for:", "compatible with", "fits ", "fit for",
                 "works with", "用于", "配")
COMPAT_AFTER = ("专用", "适用", "适配", "兼容", "compatible")


def counterfeit_cues(folded: str) -> list[str]:
    """Distinct cue words in the folded (lower-cased) title, in order of appearance."""
    seen: list[str] = []
    for m in _CUE_RE.finditer(folded):
        if m.group(0) not in seen:
            seen.append(m.group(0))
    return seen


def is_descriptive(folded: str, start: int, end: int) -> str | None:
    """The compatibility phrase right around [start, end), or None."""
    before = folded[max(0, start - 20):start]
    for cue in COMPAT_BEFORE:
        c = cue.rstrip()
        at = before.rfind(c)
        # the cue, then at most a short list of other names ("适用于华为 小米")
        if at >= 0 and (not c.isascii() or len(before) - at - len(c) <= 3 or before.endswith((c, cue))):
            return cue.strip()
    after = folded[end:end + 12]
    for cue in COMPAT_AFTER:
        if cue in after:
            return cue
    return None


# Goods words -> Nice classes. A title or category naming goods all outside the mark's classes
# (Apple in a fruit listing) is most likely the ordinary word, not the mark.
GOODS = {
    3: "洗发水 洗发露 沐浴露 香皂 肥皂 牙膏 洗衣粉 洗衣液 洗洁精 化妆品 口红 面霜 香水 护肤 洗面奶 shampoo soap toothpaste detergent "
       "perfume lipstick cosmetics lotion skincare",
    5: "药 胶囊 药品 保健品 维生素 medicine pharmacy vitamin capsule",
    9: "手机 耳机 充电器 数据线 电脑 笔记本电脑 平板 相机 镜头 显示器 望远镜 光盘 纪录片 手机壳 保护壳 钢化膜 音箱 路由器 键盘 鼠标 电池 "
       "telescope dvd phone smartphone earphones headphones charger laptop tablet camera lens cable case monitor speaker battery",
    12: "汽车 轮胎 自行车 电动车 car tyre tire bicycle bike",
    14: "手表 腕表 项链 戒指 手镯 耳环 首饰 watch necklace ring bracelet jewelry jewellery",
    16: "笔记本 文具 铅笔 钢笔 书 notebook pencil pen stationery book",
    18: "包包 手提包 背包 钱包 皮包 双肩包 行李箱 handbag bag backpack wallet purse luggage",
    21: "杯子 水杯 保温杯 玻璃杯 酒杯 高脚杯 杯具 酒具 锅 碗 厨具 cup mug bottle kitchenware glassware wineglass",
    24: "毛巾 床单 被子 towel bedsheet",
    25: "鞋 运动鞋 跑鞋 球鞋 板鞋 靴 拖鞋 衣服 t恤 卫衣 外套 夹克 裤 袜 帽 shoes sneakers trainers boots shirt t-shirt "
        "hoodie jacket pants jeans socks cap hat dress",
    28: "玩具 公仔 毛绒 积木 球拍 toy toys plush doll lego racket",
    29: "牛奶 酸奶 奶粉 肉 火腿 香肠 罐头 果干 坚果 瓜子 葡萄干 鸡蛋 蛋 milk yogurt ham sausage nuts seeds",
    30: "饼干 面包 蛋糕 巧克力 糖果 奶糖 方便面 泡面 粥 大米 面粉 咖啡 茶 茶叶 调味 酱油 醋 火锅底料 零食 辣条 月饼 "
        "biscuit biscuits cookies bread cake chocolate candy noodles coffee tea rice flour sauce snack",
    31: "水果 鲜果 苹果树 果树 蔬菜 种子 花卉 鲜花 宠物食品 猫粮 狗粮 新鲜 斤 产地直发 fruit fresh vegetables seeds "
        "flowers pet food",
    32: "凉茶 冰红茶 绿茶饮料 核桃乳 核桃奶 饮料 汽水 果汁 矿泉水 纯净水 苏打水 啤酒 功能饮料 可乐 soda juice water beer drink drinks beverage cola",
    33: "白酒 红酒 葡萄酒 威士忌 wine whisky whiskey vodka liquor",
    43: "餐厅 饭店 酒店 restaurant hotel cafe",
    41: "旅游 培训 课程 教育 tour course training",
}
# Neighbouring classes a seller may file the same goods under count as one group.
CLASS_GROUPS = ({29, 30}, {32, 33}, {14, 18, 24, 25, 26}, {3, 5, 21}, {9}, {12}, {16}, {28}, {41, 43})


def class_group(c: int) -> frozenset[int]:
    for g in CLASS_GROUPS:
        if c in g:
            return frozenset(g)
    return frozenset((c,))


_GOODS_WORDS: list[tuple[str, int]] = []
for _cls, _words in GOODS.items():
    for _w in _words.split():
        _GOODS_WORDS.append((_w, _cls))
_GOODS_WORDS.sort(key=lambda x: -len(x[0]))
_LATIN_GOODS = re.compile(r"(?<![a-z])(" + "|".join(re.escape(w) for w, _ in _GOODS_WORDS if w.isascii())
                          + r")(?![a-z])")
_LATIN_CLS = {w: c for w, c in _GOODS_WORDS if w.isascii()}
_CJK_GOODS = [(w, c) for w, c in _GOODS_WORDS if not w.isascii()]
# first character -> positions in _CJK_GOODS, so a title only tries the words that can start in it
_CJK_FIRST: dict[str, list[int]] = {}
for _i, (_w, _c) in enumerate(_CJK_GOODS):
    _CJK_FIRST.setdefault(_w[0], []).append(_i)


def goods_words(folded: str) -> list[tuple[int, int, int, str]]:
    """(start, end, Nice class, word) for every goods word in `folded`, longest words first."""
    out = []
    for m in _LATIN_GOODS.finditer(folded):
        out.append((m.start(), m.end(), _LATIN_CLS[m.group(1)], m.group(1)))
    if folded.isascii():
        return out
    text = folded
    tried = sorted({i for ch in set(folded) for i in _CJK_FIRST.get(ch, ())})
    for w, c in (_CJK_GOODS[i] for i in tried):
        at = text.find(w)
        while at >= 0:
            out.append((at, at + len(w), c, w))
            text = text[:at] + " " * len(w) + text[at + len(w):]
            at = text.find(w, at + len(w))
    return out


def goods_classes(folded: str, skip: tuple[int, int] | None = None, words=None) -> dict[int, str]:
    """Nice class -> the goods word that names it, for goods words in `folded` not inside `skip`
    (the mark's own span: 可乐 in 可口可乐 is not a goods word). `words`: goods_words(folded)."""
    out: dict[int, str] = {}
    for a, b, c, w in (goods_words(folded) if words is None else words):
        if not (skip is not None and skip[0] <= a and b <= skip[1]):
            out.setdefault(c, w)
    return out
