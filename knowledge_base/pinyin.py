"""Pinyin helpers for retrieval: split Latin text typed as pinyin (`tuikuan`) into syllables."""

from __future__ import annotations

from functools import lru_cache

# Toneless Mandarin syllables (ü written as v). Interjections such as "m", "n", "ng", "hm" are left out
# on purpose: single consonants would let almost any English word pass as pinyin.
_SYLLABLE_TEXT = """
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao
ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui
chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den deng di dia dian diao die
ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fo fou fu ga gai gan
gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang hao he hei hen
heng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju
juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai
lan lang lao le lei leng li lia lian liang liao lie lin ling liu lo long lou lu luan lue lve lun luo
lv ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao
ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nue nve nv nuo o ou pa pai pan
pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong
qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao
se sen seng sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan shuang shui
shun shuo si song sou su suan sui sun suo ta tai tan tang tao te teng ti tian tiao tie ting tong tou
tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu
xu xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze
zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang
zhui zhun zhuo zi zong zou zu zuan zui zun zuo
"""
_SYLLABLES = frozenset(_SYLLABLE_TEXT.split())
_MAX_SYLLABLE = max(len(s) for s in _SYLLABLES)


@lru_cache(maxsize=20_000)
def split_pinyin(word: str) -> tuple[str, ...]:
    """Split a lower-case Latin word into the fewest pinyin syllables, or () if it is not pinyin."""
    n = len(word)
    if not n or not word.isascii() or not word.isalpha():
        return ()
    # best[i] = fewest syllables covering word[:i]; fewer syllables prefers `xian` over `xi an`.
    best: list[tuple[int, int] | None] = [None] * (n + 1)
    best[0] = (0, 0)
    for end in range(1, n + 1):
        for start in range(max(0, end - _MAX_SYLLABLE), end):
            prev = best[start]
            if prev is not None and word[start:end] in _SYLLABLES:
                cand = (prev[0] + 1, start)
                current = best[end]
                if current is None or cand[0] < current[0]:
                    best[end] = cand
    if best[n] is None:
        return ()
    out: list[str] = []
    end = n
    while end:
        step = best[end]
        assert step is not None
        out.append(word[step[1] : end])
        end = step[1]
    return tuple(reversed(out))


def latin_pinyin_syllables(word: str, min_syllables: int = 2) -> tuple[str, ...]:
    """Syllables of a Latin word that reads as pinyin with at least `min_syllables` syllables, else ()."""
    syllables = split_pinyin(word)
    return syllables if len(syllables) >= min_syllables else ()
