"""Writes docs/ and questions.jsonl of the multilingual check set (benchmarks.models): thirteen
facts in thirteen languages, none of them a language of benchmarks/data/multilingual, in seven
scripts (Latin, Vietnamese's among them; Hebrew; Thai; Tamil; Arabic as Persian writes it;
Cyrillic as Ukrainian writes it; Bengali), twelve paired by topic (two ferries, two museums,
two festivals, two trains, two markets, two wells) so a question must find its own of two
alike, and a bridge; each asked in its own language and in English. Written after e5's
settings were chosen, apart from the first set, and used only to check them: never tune
anything to it."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
# language: (file text, evidence, question in its own language, question in English or None)
FACTS = {
    "en": ("The ferry Margaret Rose crosses the Firth of Lorn twice a day and carries up to forty "
           "cars. Its captain, Ewan Blair, has sailed the route since 1998.", "up to forty cars",
           "How many cars can the Margaret Rose ferry carry?", None),
    "it": ("Il traghetto per l'isola di Capraia parte da Livorno alle otto e mezza, e il viaggio "
           "dura due ore e mezza. In inverno non parte il martedì.", "due ore e mezza",
           "Quanto dura il viaggio in traghetto da Livorno a Capraia?",
           "How long does the ferry crossing from Livorno to Capraia take?"),
    "nl": ("Het molenmuseum bij Kinderdijk laat negentien windmolens uit de achttiende eeuw zien. "
           "Een rondvaart langs de molens duurt veertig minuten.", "veertig minuten",
           "Hoe lang duurt de rondvaart langs de molens van Kinderdijk?",
           "How long is the boat tour past the windmills of Kinderdijk?"),
    "pl": ("Muzeum soli w Wieliczce prowadzi zwiedzających sto trzydzieści pięć metrów pod ziemię. "
           "Kaplica w kopalni jest w całości wyrzeźbiona z soli.", "wyrzeźbiona z soli",
           "Z czego wyrzeźbiona jest kaplica w kopalni w Wieliczce?",
           "What is the chapel in the Wieliczka mine carved out of?"),
    "tr": ("Kapadokya'daki balon festivali her yıl temmuz ayında yapılır. Balonlar güneş "
           "doğmadan önce havalanır.", "güneş doğmadan önce havalanır",
           "Kapadokya festivalinde balonlar ne zaman havalanır?",
           "At what time of day do the balloons take off at the Cappadocia festival?"),
    "vi": ("Lễ hội đèn lồng ở Hội An diễn ra vào đêm rằm hằng tháng. Khi đó phố cổ tắt hết đèn "
           "điện và chỉ thắp đèn lồng.", "tắt hết đèn điện",
           "Trong lễ hội đèn lồng, phố cổ Hội An làm gì với đèn điện?",
           "What does the old town of Hoi An do with its electric lights on lantern festival "
           "nights?"),
    "id": ("Kereta api dari Jakarta ke Bandung melewati jembatan Cikubang yang panjangnya tiga "
           "ratus meter. Perjalanan memakan waktu sekitar tiga jam.", "sekitar tiga jam",
           "Berapa lama perjalanan kereta api dari Jakarta ke Bandung?",
           "How long does the train journey from Jakarta to Bandung take?"),
    "he": ("הרכבת מתל אביב לירושלים עולה אל ההרים דרך מנהרות ארוכות. הנסיעה נמשכת כשלושים "
           "ושתיים דקות.", "כשלושים ושתיים דקות",
           "כמה זמן נמשכת הנסיעה ברכבת מתל אביב לירושלים?",
           "How long is the train ride from Tel Aviv to Jerusalem?"),
    "th": ("ตลาดน้ำดำเนินสะดวกเปิดตั้งแต่เจ็ดโมงเช้า แม่ค้าพายเรือขายผลไม้และก๋วยเตี๋ยว",
           "เปิดตั้งแต่เจ็ดโมงเช้า",
           "ตลาดน้ำดำเนินสะดวกเปิดกี่โมง",
           "What time does the Damnoen Saduak floating market open?"),
    "ta": ("மதுரை மலர்ச் சந்தையில் மல்லிகைப் பூக்கள் அதிகாலையில் விற்கப்படுகின்றன.",
           "மல்லிகைப் பூக்கள்",
           "மதுரை மலர்ச் சந்தையில் அதிகாலையில் என்ன விற்கப்படுகிறது?",
           "Which flowers are sold early in the morning at the Madurai flower market?"),
    "fa": ("قنات قصبه در گناباد بیش از دو هزار سال قدمت دارد و عمق چاه اصلی آن سیصد متر است.",
           "سیصد متر",
           "عمق چاه اصلی قنات قصبه چقدر است؟",
           "How deep is the main well of the Qasabeh qanat in Gonabad?"),
    "uk": ("Криниця в селі Озерне має глибину двадцять метрів, і вода в ній ніколи не замерзає.",
           "ніколи не замерзає",
           "Чи замерзає вода в криниці села Озерне?",
           "Does the water in the well of the village of Ozerne ever freeze?"),
    "bn": ("কলকাতার হাওড়া সেতু তৈরিতে কোনো নাট-বল্টু ব্যবহার করা হয়নি; পুরো সেতুটি রিভেট দিয়ে "
           "জোড়া।", "রিভেট দিয়ে",
           "হাওড়া সেতুর অংশগুলো কী দিয়ে জোড়া?",
           "What holds the parts of the Howrah Bridge in Kolkata together?"),
}


def main() -> None:
    docs = HERE / "docs"
    docs.mkdir(exist_ok=True)
    lines = []
    for language, (text, evidence, own, english) in FACTS.items():
        assert evidence in text, language
        (docs / f"{language}.txt").write_text(text + "\n", encoding="utf-8")
        relevant = [{"source": f"{language}.txt", "evidence": evidence}]
        questions = {f"{language}-own": own, f"{language}-en": english}
        lines += [json.dumps({"id": qid, "question": q, "relevant": relevant}, ensure_ascii=False)
                  for qid, q in questions.items() if q]
    (HERE / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
