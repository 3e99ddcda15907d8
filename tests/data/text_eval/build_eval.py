"""Build labels.jsonl and registry.yaml for the word-mark evaluation (see README.md here).

    python tests/data/text_eval/build_eval.py      # rewrites labels.jsonl and registry.yaml

Deterministic (seeded). Every case says where it comes from in its "source" field:
  reported      knock-off spellings reported in press coverage of 山寨 goods (see README)
  constructed   a variant written by hand for this set, following the pattern of reported cases
  generated     a mechanical transformation of the registered name (homoglyph, leet, spacing,
                traditional script, full width) applied by this script
  negative      an ordinary title that must not be flagged (hard negative of a stated kind)
The split is by mark: every fourth mark (in the order below) and all its rows are held out.
"""
from __future__ import annotations

import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261126)

# id, names, classes, goods words (for titles), authorised seller
MARKS = [
    ("nike", ["Nike", "耐克"], [25], ["运动鞋", "跑步鞋", "卫衣", "篮球鞋", "sneakers"], "耐克官方旗舰店"),
    ("adidas", ["Adidas", "阿迪达斯"], [25], ["运动鞋", "三叶草 外套", "板鞋", "track jacket"], "adidas官方旗舰店"),
    ("puma", ["Puma", "彪马"], [25], ["运动鞋", "休闲鞋", "T恤"], "PUMA彪马官方店"),
    ("apple", ["Apple", "苹果"], [9], ["手机", "耳机", "充电器", "笔记本电脑"], "Apple Store 官方旗舰店"),
    ("samsung", ["Samsung", "三星"], [9], ["手机", "显示器", "平板"], "三星官方旗舰店"),
    ("huawei", ["Huawei", "华为"], [9], ["手机", "平板", "耳机", "路由器"], "华为官方旗舰店"),
    ("xiaomi", ["Xiaomi", "小米"], [9], ["手机", "充电宝 数据线", "耳机", "路由器"], "小米官方旗舰店"),
    ("sony", ["Sony", "索尼"], [9], ["耳机", "相机", "音箱"], "索尼官方旗舰店"),
    ("canon", ["Canon", "佳能"], [9], ["相机", "镜头", "打印机"], "佳能官方旗舰店"),
    ("lenovo", ["Lenovo", "联想"], [9], ["笔记本电脑", "平板", "鼠标 键盘"], "联想官方旗舰店"),
    ("gucci", ["Gucci", "古驰"], [18, 25], ["手提包", "皮带", "钱包"], "GUCCI古驰官方旗舰店"),
    ("chanel", ["Chanel", "香奈儿"], [3, 18], ["香水", "口红", "手提包"], "CHANEL香奈儿官方旗舰店"),
    ("louis-vuitton", ["Louis Vuitton", "路易威登"], [18], ["手提包", "钱包", "双肩包"], None),
    ("prada", ["Prada", "普拉达"], [18, 25], ["手提包", "双肩包", "钱包"], None),
    ("rolex", ["Rolex", "劳力士"], [14], ["手表", "腕表", "机械表"], None),
    ("dior", ["Dior", "迪奥"], [3, 18], ["口红", "香水", "手提包"], None),
    ("hermes", ["Hermès", "爱马仕"], [18, 25], ["手提包", "丝巾", "皮带"], None),
    ("coca-cola", ["Coca-Cola", "可口可乐"], [32], ["汽水 330ml", "碳酸饮料 整箱", "饮料"], "可口可乐官方旗舰店"),
    ("sprite", ["Sprite", "雪碧"], [32], ["汽水 330ml", "柠檬味 饮料", "碳酸饮料 整箱"], "可口可乐官方旗舰店"),
    ("pepsi", ["Pepsi", "百事可乐"], [32], ["汽水", "可乐 整箱", "饮料 330ml"], None),
    ("fanta", ["Fanta", "芬达"], [32], ["橙味汽水", "饮料 整箱"], None),
    ("red-bull", ["Red Bull", "红牛"], [32], ["功能饮料 250ml", "维生素 饮料 整箱"], None),
    ("oreo", ["Oreo", "奥利奥"], [30], ["夹心饼干", "饼干 家庭装", "巧克力 饼干"], None),
    ("nestle", ["Nestlé", "雀巢"], [30, 29], ["咖啡", "奶粉", "速溶咖啡 礼盒"], None),
    ("starbucks", ["Starbucks", "星巴克"], [30, 43], ["咖啡豆", "速溶咖啡", "咖啡 礼盒"], None),
    ("head-shoulders", ["Head & Shoulders", "海飞丝"], [3], ["洗发水", "去屑 洗发露"], None),
    ("colgate", ["Colgate", "高露洁"], [3], ["牙膏", "牙刷 牙膏 套装"], None),
    ("safeguard", ["Safeguard", "舒肤佳"], [3], ["香皂", "沐浴露", "洗手液"], None),
    ("dove-chocolate", ["德芙", "Dove"], [30], ["巧克力", "丝滑牛奶巧克力 礼盒"], None),
    ("kangshifu", ["康师傅"], [30, 32], ["红烧牛肉面", "方便面 整箱", "冰红茶"], "康师傅官方旗舰店"),
    ("wahaha", ["娃哈哈"], [32, 29], ["AD钙奶", "营养快线", "纯净水"], None),
    ("wangwang", ["旺旺"], [30], ["雪饼", "仙贝 零食大礼包", "旺仔牛奶 礼盒"], None),
    ("qiaqia", ["洽洽"], [29, 30], ["瓜子", "香瓜子 坚果", "每日坚果"], None),
    ("dabaitu", ["大白兔"], [30], ["奶糖", "奶糖 500g 糖果"], None),
    ("liby", ["立白"], [3], ["洗衣粉", "洗衣液", "洗洁精"], None),
    ("diaopai", ["雕牌"], [3], ["洗衣粉", "肥皂", "洗衣液"], None),
    ("wanglaoji", ["王老吉"], [32], ["凉茶 310ml", "凉茶饮料 整箱"], None),
    ("jiaduobao", ["加多宝"], [32], ["凉茶 整箱", "凉茶饮料"], None),
    ("liugehetao", ["六个核桃"], [32], ["核桃乳 饮料", "核桃奶 整箱"], None),
    ("yili", ["伊利"], [29], ["纯牛奶", "酸奶", "奶粉"], None),
    ("mengniu", ["蒙牛"], [29], ["纯牛奶 整箱", "酸奶", "特仑苏 牛奶"], None),
    ("nongfu", ["农夫山泉"], [32], ["矿泉水", "饮用天然水 整箱"], None),
    ("laoganma", ["老干妈"], [30], ["风味豆豉 辣椒酱", "油辣椒 调味"], None),
    ("zhouheiya", ["周黑鸭"], [29], ["鸭脖 卤味", "鸭锁骨 零食"], None),
    ("moutai", ["茅台"], [33], ["白酒 53度", "飞天 白酒"], None),
    ("wuliangye", ["五粮液"], [33], ["白酒 52度", "浓香型 白酒"], None),
    ("lining", ["李宁", "Li-Ning"], [25], ["运动鞋", "篮球鞋", "卫衣"], "李宁官方旗舰店"),
    ("anta", ["安踏", "ANTA"], [25], ["运动鞋", "跑鞋", "运动裤"], None),
    ("haoliyou", ["好丽友", "Orion"], [30], ["巧克力派", "薯愿 零食"], None),
    ("maidong", ["脉动"], [32], ["功能饮料", "维生素饮料 整箱"], None),
    ("lvjian", ["绿箭"], [30], ["口香糖", "薄荷糖"], None),
    ("yida", ["益达"], [30], ["口香糖", "无糖口香糖 瓶装"], None),
    ("baixiang", ["白象"], [30], ["方便面", "汤好喝 方便面 整箱"], None),
    ("yunnanbaiyao", ["云南白药"], [5, 3], ["牙膏", "创可贴", "气雾剂"], None),
]

# Reported knock-off forms (press coverage of 山寨 goods; see README) and constructed ones.
# mark id -> [(variant text, variant kind, source)]
VARIANTS = {
    "nike": [("Nkie", "typo", "constructed"), ("NIKF", "typo", "constructed")],
    "adidas": [("Abibas", "typo", "reported"), ("Adidos", "typo", "reported"), ("Addidas", "typo", "reported"),
               ("阿迪达丝", "homophone", "constructed")],
    "puma": [("彪吗", "homophone", "constructed")],
    "samsung": [("Samsong", "typo", "reported"), ("Sumsung", "typo", "reported"), ("三呈", "lookalike", "constructed")],
    "huawei": [("Huawel", "typo", "reported"), ("华伪", "homophone", "reported"), ("毕为", "lookalike", "constructed")],
    "xiaomi": [("Xiaoml", "typo", "constructed")],
    "sony": [("索尼尔", None, "constructed")],
    "lenovo": [("Lenova", "typo", "constructed"), ("联相", "homophone", "constructed")],
    "gucci": [("Guuci", "typo", "constructed")],
    "rolex": [("劳力土", "lookalike", "constructed"), ("劳力仕", "homophone", "constructed")],
    "hermes": [("爱玛仕", "homophone", "constructed")],
    "coca-cola": [("可日可乐", "lookalike", "constructed"), ("可口可东", "lookalike", "constructed")],
    "sprite": [("雷碧", "lookalike", "reported"), ("雪璧", "homophone", "constructed")],
    "pepsi": [("百事可东", "lookalike", "constructed"), ("百士可乐", "homophone", "constructed")],
    "red-bull": [("红午", "lookalike", "reported")],
    "oreo": [("粤利粤", "lookalike", "reported"), ("澳利澳", "homophone", "reported")],
    "starbucks": [("Starbuck", "typo", "constructed"), ("星巴客", "homophone", "constructed")],
    "head-shoulders": [("海非丝", "homophone", "reported"), ("诲飞丝", "lookalike", "constructed")],
    "colgate": [("高露浩", "lookalike", "reported"), ("高路洁", "homophone", "reported")],
    "safeguard": [("舒服佳", "homophone", "reported"), ("舒肤住", "lookalike", "reported")],
    "kangshifu": [("康帅傅", "lookalike", "reported"), ("康师父", "homophone", "reported"), ("康咖傅", None, "reported")],
    "wahaha": [("哇哈哈", "homophone", "reported"), ("娃娃哈", None, "reported")],
    "wangwang": [("旺汪", "lookalike", "constructed")],
    "qiaqia": [("治治", "lookalike", "reported")],
    "dabaitu": [("大白免", "lookalike", "reported"), ("大日兔", "lookalike", "constructed")],
    "liby": [("立日", "lookalike", "reported"), ("白立", None, "reported")],
    "diaopai": [("周住", None, "reported"), ("雕碑", "homophone", "constructed")],
    "wanglaoji": [("王老古", "lookalike", "reported"), ("王老帅", None, "reported")],
    "jiaduobao": [("加多室", "lookalike", "constructed"), ("家多宝", "homophone", "constructed")],
    "liugehetao": [("六个核挑", "lookalike", "reported"), ("大个核桃", "lookalike", "reported")],
    "yili": [("伊俐", "homophone", "constructed")],
    "mengniu": [("蒙午", "lookalike", "constructed"), ("豪牛", "lookalike", "reported")],
    "nongfu": [("衣夫山泉", "lookalike", "reported"), ("农夫山水", None, "constructed")],
    "laoganma": [("老于妈", "lookalike", "reported"), ("老干吗", "homophone", "constructed")],
    "zhouheiya": [("周里鸭", "lookalike", "constructed")],
    "moutai": [("芧台", "lookalike", "reported")],
    "wuliangye": [("五狼液", "homophone", "constructed")],
    "lining": [("李宇", "lookalike", "constructed"), ("Li-Nlng", "typo", "constructed")],
    "anta": [("安蹈", "lookalike", "constructed")],
    "haoliyou": [("好利友", "homophone", "reported"), ("好丽发", "lookalike", "constructed")],
    "maidong": [("脉功", "lookalike", "constructed")],
    "lvjian": [("绿剑", "homophone", "reported")],
    "yida": [("盖达", "lookalike", "constructed")],
    "baixiang": [("白像", "homophone", "constructed")],
    "yunnanbaiyao": [("云南白要", "homophone", "constructed")],
    "dove-chocolate": [("德芙芙", None, "constructed")],
}
# A variant kind of None marks a reported form no character-level rule should catch (a
# reordering like 白立, a different character like 周住 for 雕牌): kept as positives with kind
# "other" so recall counts them honestly.

# Hard negatives: (title, mark ids that might wrongly be flagged, negative kind)
NEGATIVES = [
    # same word, different goods
    ("apple juice 100% 纯果汁 1L", ["apple"], "different-goods"),
    ("红富士苹果 新鲜水果 5斤 产地直发", ["apple"], "different-goods"),
    ("Apple cider vinegar 苹果醋 500ml", ["apple"], "different-goods"),
    ("东北 黄小米 新米 5斤 小米粥 杂粮", ["xiaomi"], "different-goods"),
    ("Dove 多芬 香皂 滋润 沐浴露", ["dove-chocolate"], "different-goods"),
    ("白象 陶瓷 摆件 家居 玩具", ["baixiang"], "different-goods"),
    ("Puma 美洲狮 毛绒 玩具 公仔", ["puma"], "different-goods"),
    ("红牛 牛肉干 零食 250g", ["red-bull"], "different-goods"),
    ("三星级 酒店 餐厅 代金券", ["samsung"], "different-goods"),
    ("Canon in D 卡农 钢琴谱 书", ["canon"], "different-goods"),
    ("Oreo 图案 手机壳 保护壳", ["oreo"], "different-goods"),
    ("Jaguar 美洲豹 玩具 模型", [], "different-goods"),
    ("Fanta 橙色 T恤 卫衣 印花", ["fanta"], "different-goods"),
    ("Red bull 公仔 毛绒 玩具", ["red-bull"], "different-goods"),
    ("小米 新鲜 粗粮 营养 早餐 粥", ["xiaomi"], "different-goods"),
    ("苹果 新鲜 脆甜 水果 10斤", ["apple"], "different-goods"),
    ("Apple 图案 抱枕 毛巾 家居", ["apple"], "different-goods"),
    # Latin word boundary
    ("Nikon D750 单反相机 机身", ["nike"], "boundary"),
    ("pineapple cake 凤梨酥 台湾 伴手礼", ["apple"], "boundary"),
    ("Snapple 果汁 饮料", ["apple"], "boundary"),
    ("Applebee's 餐厅 礼品卡", ["apple"], "boundary"),
    ("Canonical Ubuntu 贴纸", ["canon"], "boundary"),
    ("Sonya 女士 连衣裙 dress", ["sony"], "boundary"),
    ("Pumas 运动 护膝", ["puma"], "boundary"),
    ("Fantastic 4 漫画 书", ["fanta"], "boundary"),
    ("Orioles 棒球帽 cap", ["oreo"], "boundary"),
    ("Diorama 模型 场景 微缩", ["dior"], "boundary"),
    ("Antarctica 纪录片 DVD", ["anta"], "boundary"),
    ("Samsungite 兼容 耳机", ["samsung"], "boundary"),
    ("Nikeisha 手工 香薰", ["nike"], "boundary"),
    ("Pradaxa 药品 说明书", ["prada"], "boundary"),
    ("Colgateway 书 notebook", ["colgate"], "boundary"),
    # look-alike letters / typo-like real words
    ("Mike 同学录 笔记本", ["nike"], "typo-like-word"),
    ("Nice day 印花 T恤", ["nike"], "typo-like-word"),
    ("Toyota Prado 车载 脚垫", ["prada"], "typo-like-word"),
    ("Pepsin 胃蛋白酶 说明", ["pepsi"], "typo-like-word"),
    ("Herpes 药膏 说明 药", ["hermes"], "typo-like-word"),
    ("Channel 4 电视 纪录片 DVD", ["chanel"], "typo-like-word"),
    ("Addison 小说 书", ["adidas"], "typo-like-word"),
    ("Rolly 滚轮 玩具", ["rolex"], "typo-like-word"),
    ("Lenox 骨瓷 餐具", ["lenovo"], "typo-like-word"),
    ("Sonny Rollins 黑胶唱片", ["sony"], "typo-like-word"),
    ("Puppa 宠物 猫粮", ["puma"], "typo-like-word"),
    ("Gucciardo 意大利 面条", ["gucci"], "typo-like-word"),
    ("Sprint 跑步 计时器", ["sprite"], "typo-like-word"),
    ("Spirit 烈酒 杯", ["sprite"], "typo-like-word"),
    ("Canoe 独木舟 模型", ["canon"], "typo-like-word"),
    ("Orion 猎户座 天文 望远镜 目镜", ["haoliyou"], "different-goods"),
    # homoglyph / full width that is not a mark
    ("ＮＩＫＯＮ Ｄ７５０ 相机", ["nike"], "homoglyph-like"),
    ("Ѕmart 智能 手环", [], "homoglyph-like"),
    ("ΑΡΡΛΕ 希腊语 字母 贴纸", ["apple"], "homoglyph-like"),
    ("ΣΟΝΑ 桑拿 毛巾", ["sony"], "homoglyph-like"),
    ("Ｃａｎｏｅ 皮划艇 模型", ["canon"], "homoglyph-like"),
    ("ΡΟΛΕΧ 手表 表带 通用", ["rolex"], "homoglyph-like"),
    # leet-like model numbers and codes
    ("N1 Pro 蓝牙 耳机", ["nike"], "leet-like"),
    ("K3 机械 键盘 RGB", [], "leet-like"),
    ("A7 4G 路由器", [], "leet-like"),
    ("S0NG 音乐 卡", ["sony"], "leet-like"),
    ("P4D 平板 支架", ["prada"], "leet-like"),
    ("R0L3 角色扮演 桌游", ["rolex"], "leet-like"),
    ("G00D 好物 收纳盒", ["gucci"], "leet-like"),
    ("D10R4MA 模型 场景", ["dior"], "leet-like"),
    ("C4NOE 独木舟 模型", ["canon"], "leet-like"),
    ("4NTI 防滑 手套", ["anta"], "leet-like"),
    # spacing: letters that happen to be spaced
    ("N I C E 字母 贴纸", ["nike"], "spacing-like"),
    ("A P P 下载 教程 书", ["apple"], "spacing-like"),
    ("L.E.D. 灯带 5米", [], "spacing-like"),
    ("P.U.M.P 打气筒", ["puma"], "spacing-like"),
    ("S-O-N-G 歌词本", ["sony"], "spacing-like"),
    ("D I Y 手工 材料包", ["dior"], "spacing-like"),
    ("C.A.N.D.Y 糖果 礼盒", ["canon"], "spacing-like"),
    ("A N T 蚂蚁 工坊 玩具", ["anta"], "spacing-like"),
    # Chinese: real words that sound like a mark
    ("伊丽莎白圈 宠物 防舔 头套", ["yili"], "homophone-like"),
    ("小蜜蜂 扩音器 教师 讲课", ["xiaomi"], "homophone-like"),
    ("萌牛 公仔 毛绒 玩具", ["mengniu"], "homophone-like"),
    ("汪汪队立大功 玩具 套装", ["wangwang"], "homophone-like"),
    ("王老师 推荐 练习册 书", ["wanglaoji"], "homophone-like"),
    ("华威 大厦 写字楼 出租", ["huawei"], "homophone-like"),
    ("雪壁 攀岩 装备 安全带", ["sprite"], "homophone-like"),
    ("立柏 实木 家具 衣柜", ["liby"], "homophone-like"),
    ("李凝 同款 连衣裙", ["lining"], "homophone-like"),
    ("五两 一瓶 白酒 分装瓶", ["wuliangye"], "homophone-like"),
    ("家多 收纳 宝 箱子", ["jiaduobao"], "homophone-like"),
    ("三鑫 五金 工具 套装", ["samsung"], "homophone-like"),
    ("联系 客服 领取 优惠券", ["lenovo"], "homophone-like"),
    ("周黑 色 衬衫 男", ["zhouheiya"], "homophone-like"),
    # Chinese: real words that look like a mark
    ("大米 东北 珍珠米 10斤", ["xiaomi"], "lookalike-like"),
    ("新疆伊犁 薰衣草 精油", ["yili"], "lookalike-like"),
    ("大神 同款 游戏 鼠标垫", [], "lookalike-like"),
    ("王者 荣耀 周边 手办", [], "lookalike-like"),
    ("白兔 玩偶 毛绒", ["dabaitu"], "lookalike-like"),
    ("大白菜 新鲜 蔬菜 5斤", ["dabaitu"], "lookalike-like"),
    ("康庄 大道 装饰画", ["kangshifu"], "lookalike-like"),
    ("佳龙 园艺 花盆", ["canon"], "lookalike-like"),
    ("星巴 克力 架 书架", ["starbucks"], "lookalike-like"),
    ("周日 黑 鸭舌帽", ["zhouheiya"], "lookalike-like"),
    ("加多 室内 拖鞋", ["jiaduobao"], "lookalike-like"),
    ("绿健 蔬菜 配送", ["lvjian"], "homophone-like"),
    ("日白 天 晴 印花 T恤", [], "lookalike-like"),
    # descriptive / compatibility use
    ("iPhone 15 手机壳 (适用于 Apple iPhone)", ["apple"], "descriptive"),
    ("钢化膜 适用于华为 Mate60", ["huawei"], "descriptive"),
    ("充电线 适用于 Samsung Galaxy S23", ["samsung"], "descriptive"),
    ("Case for Apple iPad Air 保护套", ["apple"], "descriptive"),
    ("表带 compatible with Rolex 20mm", ["rolex"], "descriptive"),
    ("耳机套 兼容 Sony WH-1000XM4", ["sony"], "descriptive"),
    ("镜头盖 适用 Canon 单反 58mm", ["canon"], "descriptive"),
    ("小米手环8 专用 表带 替换带", ["xiaomi"], "descriptive"),
    ("联想 ThinkPad 适配 充电器 65W", ["lenovo"], "descriptive"),
    ("Lenovo 笔记本 专用 键盘膜", ["lenovo"], "descriptive"),
    ("鞋带 适用于 Nike Air Force 1", ["nike"], "descriptive"),
    ("包包 挂件 for Louis Vuitton Speedy", ["louis-vuitton"], "descriptive"),
    ("替换 刷头 适用于 高露洁 电动牙刷", ["colgate"], "descriptive"),
    ("保护套 适用于 三星 Galaxy Tab", ["samsung"], "descriptive"),
    ("数据线 适用于华为 小米 手机", ["huawei", "xiaomi"], "descriptive"),
    # unrelated ordinary titles
    ("纯棉 短袖 T恤 男 夏季", [], "unrelated"),
    ("不锈钢 保温杯 500ml", [], "unrelated"),
    ("儿童 积木 益智 玩具", [], "unrelated"),
    ("蓝牙 耳机 无线 降噪", [], "unrelated"),
    ("wireless mouse 2.4G silent", [], "unrelated"),
    ("men's running shoes lightweight", [], "unrelated"),
    ("红烧 牛肉面 方便面 整箱 24袋", [], "unrelated"),
    ("东北 五常 大米 10kg", [], "unrelated"),
    ("柠檬 汽水 碳酸饮料 整箱", [], "unrelated"),
    ("洗衣液 薰衣草 香 3kg", [], "unrelated"),
]

CATEGORY_NEGATIVES = [
    ("Apple 红富士 脆甜 10斤装", "apple", "生鲜 > 水果"),
    ("小米 黄小米 新米 5斤", "xiaomi", "粮油 > 杂粮"),
    ("Dove 滋润 香皂 3块装", "dove-chocolate", "个护 > 香皂"),
    ("Puma 美洲狮 公仔", "puma", "玩具 > 毛绒玩具"),
    ("白象 摆件 招财", "baixiang", "家居 > 摆件 玩具"),
    ("Orion 猎户座 观星 入门", "haoliyou", "数码 > 望远镜"),
    ("Canon 卡农 乐谱 钢琴", "canon", "图书 > 乐谱 书"),
    ("Jaguar 捷豹 车标 贴", "", "汽车用品"),
    ("红牛 牛肉 卤味 真空", "red-bull", "食品 > 牛肉 零食"),
    ("Fanta 橙色 印花 卫衣", "fanta", "服饰 > 卫衣"),
]

PREFIX = ["", "", "正品 ", "2024新款 ", "热卖 ", "特价 ", "包邮 ", "【现货】"]
SUFFIX = ["", "", " 包邮", " 正品保证", " 批发", " 新款", " 特价促销", " 现货速发"]
CUES = ["高仿", "精仿", "原单", "尾单", "A货", "1:1", "复刻", "replica", "AAA"]
HOMO = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і", "s": "ѕ",
        "A": "Α", "B": "Β", "E": "Ε", "H": "Η", "I": "Ι", "K": "Κ", "M": "Μ", "N": "Ν", "O": "Ο", "P": "Ρ",
        "T": "Τ", "X": "Χ", "Y": "Υ", "Z": "Ζ"}
LEETS = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


def fullwidth(s):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def homoglyph(s):
    idx = [i for i, c in enumerate(s) if c in HOMO]
    if not idx:
        return None
    pick = rng.sample(idx, min(len(idx), rng.choice([1, 2, len(idx)])))
    return "".join(HOMO[c] if i in pick else c for i, c in enumerate(s))


def leet(s):
    idx = [i for i, c in enumerate(s) if c.lower() in LEETS]
    if not idx:
        return None
    pick = rng.sample(idx, min(len(idx), rng.choice([1, 1, 2])))
    return "".join(LEETS[c.lower()] if i in pick else c for i, c in enumerate(s))


def spaced(s):
    sep = rng.choice([".", " ", "-", "·", "_", "\u200b"])
    return sep.join(s.replace(" ", ""))


def title(variant, goods, cue=False):
    parts = [rng.choice(PREFIX), variant, " ", rng.choice(goods), rng.choice(SUFFIX)]
    t = "".join(parts)
    if cue:
        t = rng.choice(CUES) + " " + t
    return t


def main():
    import opencc

    t2 = opencc.OpenCC("s2t")
    rows = []
    heldout_marks = {m[0] for i, m in enumerate(MARKS) if i % 4 == 3}

    def add(title_, expected, case, source, mark_for_split, seller=None, category=None):
        rid = f"{len(rows) + 1:04d}"
        row = {"id": rid, "title": title_, "expected": expected, "case": case, "source": source,
               "split": "heldout" if mark_for_split in heldout_marks else "dev"}
        if seller:
            row["seller"] = seller
        if category:
            row["category"] = category
        rows.append(row)

    for mid, names, classes, goods, seller in MARKS:
        latin = [n for n in names if any(c.isascii() and c.isalpha() for c in n)]
        cjk = [n for n in names if not n.isascii()]
        primary = names[0]
        # exact registered name (primary), and the other-script name as translation
        add(title(primary, goods), [{"mark_id": mid, "variant": "exact"}], "exact", "generated", mid)
        for other in names[1:]:
            add(title(other, goods, cue=rng.random() < 0.3), [{"mark_id": mid, "variant": "translation"}],
                "translation", "generated", mid)
        for n in latin:
            h = homoglyph(n)
            if h:
                add(title(h, goods), [{"mark_id": mid, "variant": "homoglyph"}], "homoglyph", "generated", mid)
            if rng.random() < 0.5:
                add(title(fullwidth(n.upper()), goods), [{"mark_id": mid, "variant": "homoglyph"}],
                    "homoglyph", "generated", mid)
            lt = leet(n)
            if lt:
                add(title(lt.upper() if rng.random() < 0.5 else lt, goods, cue=rng.random() < 0.3),
                    [{"mark_id": mid, "variant": "leet"}], "leet", "generated", mid)
            if len(n.replace(" ", "")) <= 8:
                add(title(spaced(n.upper()), goods), [{"mark_id": mid, "variant": "spacing"}], "spacing",
                    "generated", mid)
        for n in cjk:
            tr = t2.convert(n)
            if tr != n:
                add(title(tr, goods), [{"mark_id": mid, "variant": "script"}], "script", "generated", mid)
        for text, kind, source in VARIANTS.get(mid, []):
            add(title(text, goods, cue=rng.random() < 0.25), [{"mark_id": mid, "variant": kind or "other"}],
                kind or "other", source, mid)
        # authorised seller and plain unrelated-seller negatives for this mark
        if seller:
            add(title(primary, goods), [], "authorized-seller", "negative", mid, seller=seller)
        # same goods, no brand: what most listings in the mark's category look like
        for _ in range(2):
            add(title(rng.choice(["精选", "优质", "家用", "经典款", "大容量", "新品"]), goods), [], "same-goods-no-mark",
                "negative", mid)
    for text, marks_, kind in NEGATIVES:
        add(text, [], kind, "negative", marks_[0] if marks_ else "")
    # the listing's category (not the title) says the goods are outside the mark's classes
    for text, mid, category in CATEGORY_NEGATIVES:
        add(text, [], "different-goods-category", "negative", mid, category=category)
    with open(os.path.join(HERE, "labels.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, "registry.yaml"), "w", encoding="utf-8") as f:
        f.write("# Registry for the word-mark evaluation set (tests/data/text_eval/README.md).\n")
        f.write("# Illustrative entries: names and Nice classes as commonly known; reg_no left out.\n")
        f.write("marks:\n")
        for mid, names, classes, goods, seller in MARKS:
            f.write(f"  - id: {mid}\n    names: {json.dumps(names, ensure_ascii=False)}\n")
            f.write(f"    nice_classes: {json.dumps(classes)}\n")
            if seller:
                f.write(f"    authorized_sellers: {json.dumps([seller], ensure_ascii=False)}\n")
    pos = sum(1 for r in rows if r["expected"])
    print(f"{len(rows)} rows, {pos} positive, {len(rows) - pos} negative, {len(MARKS)} marks, "
          f"{sum(r['split'] == 'heldout' for r in rows)} held out")


if __name__ == "__main__":
    main()
