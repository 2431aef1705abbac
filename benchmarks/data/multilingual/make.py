"""Writes docs/ and questions.jsonl of the multilingual set (benchmarks.models): twelve facts in
twelve languages and eight scripts, paired by topic (two lighthouses, two bakeries, two lakes,
two bridges, ...) so a question must find its own of two alike; each asked in its own language,
in English, and in a third language. Written once by hand, never tuned to: run it to rebuild."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
# language: (file text, evidence, question in its own language, in English, (third language, question))
FACTS = {
    "en": ("The lighthouse on Skerry Point was built in 1871. Its keeper, Agnes Moore, kept the "
           "lamp burning with whale oil for thirty years.", "whale oil",
           "What fuel did the lamp of the Skerry Point lighthouse burn?",
           "Who kept the lamp of the Skerry Point lighthouse?",
           ("es", "¿Quién cuidaba la lámpara del faro de Skerry Point?")),
    "de": ("Der Leuchtturm auf der Hallig Nordby wurde 1902 errichtet. Seit 1954 leuchtet er "
           "elektrisch, und seine Treppe hat 148 Stufen.", "148 Stufen",
           "Wie viele Stufen hat die Treppe des Leuchtturms auf Nordby?",
           "How many steps does the staircase of the Nordby lighthouse have?",
           ("fr", "Combien de marches compte l'escalier du phare de Nordby ?")),
    "es": ("La panadería Santa Clara de Toledo hornea el pan cada madrugada a las cuatro. Su horno "
           "de leña funciona desde 1890.", "desde 1890",
           "¿Desde cuándo funciona el horno de leña de la panadería de Toledo?",
           "Since when has the wood-fired oven of the Toledo bakery been working?",
           ("de", "Seit wann ist der Holzofen der Bäckerei in Toledo in Betrieb?")),
    "fr": ("La boulangerie Martin, à Lyon, est célèbre pour sa brioche aux pralines roses. Elle "
           "est fermée le lundi.", "fermée le lundi",
           "Quel jour la boulangerie Martin de Lyon est-elle fermée ?",
           "On which day is the Martin bakery in Lyon closed?",
           ("pt", "Em que dia a padaria Martin de Lyon fecha?")),
    "ru": ("Горное озеро Белый Ключ замерзает каждый год в начале ноября. Его глубина достигает "
           "сорока метров.", "в начале ноября",
           "Когда замерзает озеро Белый Ключ?",
           "When does the mountain lake White Spring freeze over?",
           ("el", "Πότε παγώνει η ορεινή λίμνη Λευκή Πηγή;")),
    "el": ("Η λίμνη Κουρνά είναι η μόνη φυσική λίμνη γλυκού νερού της Κρήτης. Στα νερά της ζουν "
           "χελώνες και χέλια.", "χελώνες και χέλια",
           "Ποια ζώα ζουν στη λίμνη Κουρνά;",
           "Which animals live in Lake Kournas?",
           ("ru", "Какие животные живут в озере Курна?")),
    "zh": ("这座古老的石桥建于明朝，横跨清水河，全长八十米。", "全长八十米",
           "清水河上的石桥有多长？",
           "How long is the old stone bridge over the Qingshui River?",
           ("ja", "清水河にかかる石橋の長さはどれくらいですか？")),
    "ja": ("山あいの村にある木の橋には五つのアーチがあり、二十年ごとに架け替えられる。",
           "二十年ごとに架け替えられる",
           "木の橋はどのくらいの間隔で架け替えられますか？",
           "How often is the wooden bridge with five arches rebuilt?",
           ("zh", "那座有五个拱的木桥多久重建一次？")),
    "ar": ("تفتح مكتبة المدينة أبوابها كل يوم جمعة حتى منتصف الليل. وتضم أكثر من مليوني كتاب.",
           "حتى منتصف الليل",
           "متى تغلق مكتبة المدينة يوم الجمعة؟",
           "Until what time is the city library open on Fridays?",
           ("hi", "शुक्रवार को शहर का पुस्तकालय कब तक खुला रहता है?")),
    "hi": ("गाँव के किसान मानसून से पहले धान के बीज बोते हैं। बुवाई के बाद वे एक मेला लगाते हैं।",
           "मानसून से पहले",
           "किसान धान के बीज कब बोते हैं?",
           "When do the village farmers sow their rice seeds?",
           ("ar", "متى يزرع المزارعون في القرية بذور الأرز؟")),
    "ko": ("항구의 수산시장은 새벽 세 시에 문을 열고, 참치 경매는 다섯 시에 시작된다.",
           "참치 경매는 다섯 시에 시작된다",
           "참치 경매는 몇 시에 시작됩니까?",
           "At what time does the tuna auction at the harbour fish market start?",
           ("es", "¿A qué hora empieza la subasta de atún en el mercado de pescado del puerto?")),
    "pt": ("Na quinta do Vale Escuro, no Douro, as uvas são colhidas à mão em setembro. A vindima "
           "termina com uma festa na aldeia.", "colhidas à mão em setembro",
           "Quando são colhidas as uvas na quinta do Vale Escuro?",
           "When are the grapes picked at the Vale Escuro estate?",
           ("ko", "발레 에스쿠루 농장에서는 포도를 언제 수확합니까?")),
}


def main() -> None:
    docs = HERE / "docs"
    docs.mkdir(exist_ok=True)
    lines = []
    for language, (text, evidence, own, english, (third, asked)) in FACTS.items():
        assert evidence in text, language
        (docs / f"{language}.txt").write_text(text + "\n", encoding="utf-8")
        relevant = [{"source": f"{language}.txt", "evidence": evidence}]
        questions = {f"{language}-own": own, f"{language}-en": english,
                     f"{language}-from-{third}": asked}
        lines += [json.dumps({"id": qid, "question": q, "relevant": relevant}, ensure_ascii=False)
                  for qid, q in questions.items()]
    (HERE / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
