"""pxr's translations, kept here as the source the .po files are written from.

Run ``python scripts/translations.py`` after changing a msgid: it re-extracts
the .pot, updates every .po (keeping their translations), fills in the texts
below, and compiles the .mo files. Translators may edit the .po files
directly instead; then run ``pybabel compile -d src/pxr/locale -D pxr``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "src" / "pxr" / "locale"
POT = LOCALE / "pxr.pot"

M = {
    "upd_flight": "An update on your flight {subject}: it is now arriving {delay} late. We are very sorry.",
    "upd_order": "An update on your order {subject}: it is now {delay} late. We are very sorry.",
    "upd_title": "An update on {subject}",
    "upd_delay": "An update on {subject}: it is now {delay} late. We are very sorry.",
    "upd_worse": "An update on {subject}: we are very sorry that it has got worse.",
    "voucher": "As an apology, here is a voucher for {amount}: {code}. It is valid until {until}.",
    "gift": "As an apology, we would like to offer you {item}.",
    "eu261_short": "EU 261 compensation of {amount} is on its way to you.",
    "gift_short": "For you: {item}.",
    "resolved": "Good news: the problem with {subject} is resolved. Thank you for your patience.",
    "hello_name": "Hello {name},",
    "hello": "Hello,",
    "closing_short": "No need to contact us.",
    "contact": "Someone from our team will contact you personally by {due}.",
    "t_wait": "Sorry for the wait ({subject})",
    "t_survey": "Thank you for your feedback ({subject})",
    "survey": "Thank you for your honest feedback on {subject}. We are sorry we fell short.",
    "eu261": "Under EU Regulation 261/2004 you are owed {amount}. We are paying it automatically; there is no claim to file.",
    "voucher_short": "Voucher {code}: {amount}, valid until {until}.",
    "t_generic": "We are sorry about {subject}",
    "generic": "We are sorry that {subject} did not go as it should have.",
    "wait": "We are sorry you had to wait {delay} for our help.",
    "flight": "We are sorry: your flight {subject} is arriving {delay} late.",
    "order_nodelay": "We are sorry: your order {subject} is late.",
    "order": "We are sorry: your order {subject} is {delay} late.",
    "generic_delay": "We are sorry: {subject} is {delay} late.",
    "refund_more": "We have refunded a further {amount} to your original payment method.",
    "refund_more_short": "We have refunded a further {amount}.",
    "refund": "We have refunded {amount} to your original payment method; you do not need to do anything.",
    "refund_short": "We have refunded {amount}.",
    "contact_short": "We will contact you by {due}.",
    "closing": "You do not need to contact us; we will keep you posted.",
    "t_flight": "Your flight {subject} is delayed: we are sorry",
    "t_order": "Your order {subject} is late: we are sorry",
    "t_resolved": "{subject}: resolved",
    "upd_short": "{subject}: now {delay} late. We are very sorry.",
}
PLURAL = ("{count} update from us", "{count} updates from us")

T: dict[str, dict[str, str]] = {
    "pl": {
        "upd_flight": "Nowe informacje o Twoim locie {subject}: opóźnienie to już {delay}. Bardzo przepraszamy.",
        "upd_order": "Nowe informacje o Twoim zamówieniu {subject}: opóźnienie to już {delay}. Bardzo przepraszamy.",
        "upd_title": "Nowe informacje: {subject}",
        "upd_delay": "Nowe informacje w sprawie {subject}: opóźnienie to już {delay}. Bardzo przepraszamy.",
        "upd_worse": "Nowe informacje w sprawie {subject}: bardzo przepraszamy, sytuacja się pogorszyła.",
        "voucher": "W ramach przeprosin przesyłamy bon o wartości {amount}: {code}. Jest ważny do {until}.",
        "gift": "W ramach przeprosin chcemy Ci zaproponować: {item}.",
        "eu261_short": "Odszkodowanie z rozporządzenia UE 261 w wysokości {amount} jest już w drodze.",
        "gift_short": "Dla Ciebie: {item}.",
        "resolved": "Dobra wiadomość: sprawa {subject} jest już rozwiązana. Dziękujemy za cierpliwość.",
        # Polish would need the vocative of the name ("Anno"): greet without it.
        "hello_name": "Dzień dobry,",
        "hello": "Dzień dobry,",
        "closing_short": "Nie musisz nic robić.",
        "contact": "Do {due} skontaktuje się z Tobą osobiście ktoś z naszego zespołu.",
        "t_wait": "Przepraszamy za czas oczekiwania ({subject})",
        "t_survey": "Dziękujemy za opinię ({subject})",
        "survey": "Dziękujemy za szczerą opinię o {subject}. Przepraszamy, że nie spełniliśmy Twoich oczekiwań.",
        "eu261": "Na podstawie rozporządzenia UE 261/2004 przysługuje Ci {amount}. Wypłacimy tę kwotę automatycznie – nie musisz składać żadnego wniosku.",
        "voucher_short": "Bon {code}: {amount}, ważny do {until}.",
        "t_generic": "Przepraszamy – {subject}",
        "generic": "Przepraszamy – w sprawie {subject} coś poszło nie tak.",
        # "{delay} czekania" keeps the delay in the nominative ("1 godzina czekania").
        "wait": "{delay} czekania na naszą pomoc to zdecydowanie za długo. Przepraszamy.",
        "flight": "Przepraszamy: Twój lot {subject} jest opóźniony – to już {delay}.",
        "order_nodelay": "Przepraszamy: Twoje zamówienie {subject} jest opóźnione.",
        "order": "Przepraszamy: Twoje zamówienie {subject} spóźnia się – to już {delay}.",
        "generic_delay": "Przepraszamy: opóźnienie w sprawie {subject} to już {delay}.",
        "refund_more": "Zwróciliśmy dodatkowo {amount} na metodę płatności użytą przy zakupie.",
        "refund_more_short": "Zwróciliśmy dodatkowo {amount}.",
        "refund": "Zwróciliśmy {amount} na metodę płatności użytą przy zakupie – nie musisz nic robić.",
        "refund_short": "Zwróciliśmy {amount}.",
        "contact_short": "Skontaktujemy się z Tobą do {due}.",
        "closing": "Nie musisz się z nami kontaktować – będziemy Cię informować na bieżąco.",
        "t_flight": "Twój lot {subject} jest opóźniony – przepraszamy",
        "t_order": "Twoje zamówienie {subject} się spóźnia – przepraszamy",
        "t_resolved": "{subject}: sprawa rozwiązana",
        "upd_short": "{subject}: opóźnienie to już {delay}. Bardzo przepraszamy.",
    },
    "bg": {
        "upd_flight": "Актуална информация за Вашия полет {subject}: закъснението вече е {delay}. Много съжаляваме.",
        "upd_order": "Актуална информация за Вашата поръчка {subject}: закъснението вече е {delay}. Много съжаляваме.",
        "upd_title": "Актуална информация за {subject}",
        "upd_delay": "Актуална информация за {subject}: закъснението вече е {delay}. Много съжаляваме.",
        "upd_worse": "Актуална информация за {subject}: много съжаляваме, че положението се влоши.",
        "voucher": "Като извинение Ви изпращаме ваучер за {amount}: {code}. Валиден е до {until}.",
        "gift": "Като извинение бихме искали да Ви предложим: {item}.",
        "eu261_short": "Обезщетение по Регламент 261 в размер на {amount} вече е на път към Вас.",
        "gift_short": "За Вас: {item}.",
        "resolved": "Добра новина: проблемът с {subject} е решен. Благодарим Ви за търпението.",
        "hello_name": "Здравейте, {name},",
        "hello": "Здравейте,",
        "closing_short": "Не е нужно да се свързвате с нас.",
        "contact": "Член на нашия екип ще се свърже лично с Вас до {due}.",
        "t_wait": "Съжаляваме, че чакахте ({subject})",
        "t_survey": "Благодарим Ви за отзива ({subject})",
        "survey": "Благодарим Ви за откровения отзив за {subject}. Съжаляваме, че не оправдахме очакванията Ви.",
        "eu261": "Съгласно Регламент (ЕО) № 261/2004 имате право на {amount}. Ще изплатим сумата автоматично – не е нужно да подавате искане.",
        "voucher_short": "Ваучер {code}: {amount}, валиден до {until}.",
        "t_generic": "Съжаляваме за {subject}",
        "generic": "Съжаляваме, че с {subject} нещо се обърка.",
        "wait": "Съжаляваме, че трябваше да чакате {delay} за нашата помощ.",
        "flight": "Съжаляваме: Вашият полет {subject} ще пристигне със закъснение от {delay}.",
        "order_nodelay": "Съжаляваме: Вашата поръчка {subject} закъснява.",
        "order": "Съжаляваме: Вашата поръчка {subject} закъснява с {delay}.",
        "generic_delay": "Съжаляваме: {subject} закъснява с {delay}.",
        "refund_more": "Възстановихме Ви още {amount} по начина, по който платихте.",
        "refund_more_short": "Възстановихме Ви още {amount}.",
        "refund": "Възстановихме Ви {amount} по начина, по който платихте – не е нужно да правите нищо.",
        "refund_short": "Възстановихме Ви {amount}.",
        "contact_short": "Ще се свържем с Вас до {due}.",
        "closing": "Не е нужно да се свързвате с нас – ще Ви държим в течение.",
        "t_flight": "Вашият полет {subject} закъснява – съжаляваме",
        "t_order": "Вашата поръчка {subject} закъснява – съжаляваме",
        "t_resolved": "{subject}: проблемът е решен",
        "upd_short": "{subject}: закъснението вече е {delay}. Много съжаляваме.",
    },
    "nl": {
        # Plain hyphens and colons, no en dashes: Dutch SMS stays in GSM-7.
        "upd_flight": "Update over je vlucht {subject}: de vertraging is nu {delay}. Het spijt ons enorm.",
        "upd_order": "Update over je bestelling {subject}: die is nu {delay} te laat. Het spijt ons enorm.",
        "upd_title": "Update over {subject}",
        "upd_delay": "Update over {subject}: de vertraging is nu {delay}. Het spijt ons enorm.",
        "upd_worse": "Update over {subject}: het spijt ons enorm dat het erger is geworden.",
        "voucher": "Als excuus krijg je een tegoedbon van {amount}: {code}. Hij is geldig tot {until}.",
        "gift": "Als excuus bieden we je graag het volgende aan: {item}.",
        "eu261_short": "Je EU 261-compensatie van {amount} is onderweg.",
        "gift_short": "Voor jou: {item}.",
        "resolved": "Goed nieuws: het probleem met {subject} is opgelost. Bedankt voor je geduld.",
        "hello_name": "Beste {name},",
        "hello": "Hallo,",
        "closing_short": "Je hoeft niets te doen.",
        "contact": "Iemand van ons team neemt uiterlijk {due} persoonlijk contact met je op.",
        "t_wait": "Sorry voor het wachten ({subject})",
        "t_survey": "Bedankt voor je feedback ({subject})",
        "survey": "Bedankt voor je eerlijke feedback over {subject}. Het spijt ons dat we tekort zijn geschoten.",
        "eu261": "Volgens EU-verordening 261/2004 heb je recht op {amount}. We betalen dit automatisch uit; je hoeft geen claim in te dienen.",
        "voucher_short": "Tegoedbon {code}: {amount}, geldig tot {until}.",
        "t_generic": "Onze excuses voor {subject}",
        "generic": "Het spijt ons dat er iets mis is gegaan met {subject}.",
        "wait": "Het spijt ons dat je {delay} op onze hulp moest wachten.",
        "flight": "Het spijt ons: je vlucht {subject} komt {delay} te laat aan.",
        "order_nodelay": "Het spijt ons: je bestelling {subject} is te laat.",
        "order": "Het spijt ons: je bestelling {subject} is {delay} te laat.",
        "generic_delay": "Het spijt ons: {subject} is {delay} te laat.",
        "refund_more": "We hebben nog eens {amount} teruggestort via je oorspronkelijke betaalmethode.",
        "refund_more_short": "We hebben nog eens {amount} teruggestort.",
        "refund": "We hebben {amount} teruggestort via je oorspronkelijke betaalmethode; je hoeft hier niets voor te doen.",
        "refund_short": "We hebben {amount} teruggestort.",
        "contact_short": "We nemen uiterlijk {due} contact met je op.",
        "closing": "Je hoeft geen contact met ons op te nemen; we houden je op de hoogte.",
        "t_flight": "Je vlucht {subject} heeft vertraging: onze excuses",
        "t_order": "Je bestelling {subject} is te laat: onze excuses",
        "t_resolved": "{subject}: opgelost",
        "upd_short": "{subject}: nu {delay} te laat. Het spijt ons enorm.",
    },
    "ro": {
        # Comma-below ș and ț (U+0219, U+021B), never the cedilla forms.
        "upd_flight": "Noutăți despre zborul dumneavoastră {subject}: întârzierea a ajuns la {delay}. Ne pare foarte rău.",
        "upd_order": "Noutăți despre comanda dumneavoastră {subject}: întârzierea a ajuns la {delay}. Ne pare foarte rău.",
        "upd_title": "Noutăți despre {subject}",
        "upd_delay": "Noutăți despre {subject}: întârzierea a ajuns la {delay}. Ne pare foarte rău.",
        "upd_worse": "Noutăți despre {subject}: ne pare foarte rău că situația s-a înrăutățit.",
        "voucher": "Ca să ne cerem scuze, vă oferim un voucher de {amount}: {code}. Este valabil până la {until}.",
        "gift": "Ca să ne cerem scuze, vă oferim: {item}.",
        "eu261_short": "Compensația de {amount} conform Regulamentului UE 261 este deja pe drum.",
        "gift_short": "Pentru dumneavoastră: {item}.",
        "resolved": "Vești bune: problema cu {subject} a fost rezolvată. Vă mulțumim pentru răbdare.",
        "hello_name": "Bună ziua, {name},",
        "hello": "Bună ziua,",
        "closing_short": "Nu trebuie să ne contactați.",
        "contact": "Un coleg din echipa noastră vă va contacta personal până la {due}.",
        "t_wait": "Ne pare rău pentru așteptare ({subject})",
        "t_survey": "Vă mulțumim pentru părere ({subject})",
        "survey": "Vă mulțumim pentru părerea sinceră despre {subject}. Ne pare rău că nu ne-am ridicat la înălțimea așteptărilor.",
        "eu261": "Conform Regulamentului (CE) nr. 261/2004, aveți dreptul la {amount}. Vă plătim suma automat; nu trebuie să depuneți nicio cerere.",
        "voucher_short": "Voucher {code}: {amount}, valabil până la {until}.",
        "t_generic": "Ne pare rău pentru {subject}",
        "generic": "Ne pare rău că ceva n-a mers bine cu {subject}.",
        "wait": "Ne pare rău că a trebuit să așteptați {delay} ajutorul nostru.",
        "flight": "Ne pare rău: zborul dumneavoastră {subject} va ajunge cu o întârziere de {delay}.",
        "order_nodelay": "Ne pare rău: comanda dumneavoastră {subject} întârzie.",
        "order": "Ne pare rău: comanda dumneavoastră {subject} are o întârziere de {delay}.",
        "generic_delay": "Ne pare rău: {subject} are o întârziere de {delay}.",
        "refund_more": "V-am mai rambursat {amount} prin metoda de plată folosită la comandă.",
        "refund_more_short": "V-am mai rambursat {amount}.",
        "refund": "V-am rambursat {amount} prin metoda de plată folosită la comandă; nu trebuie să faceți nimic.",
        "refund_short": "V-am rambursat {amount}.",
        "contact_short": "Vă vom contacta până la {due}.",
        "closing": "Nu trebuie să ne contactați; vă ținem la curent.",
        "t_flight": "Zborul dumneavoastră {subject} are întârziere: ne pare rău",
        "t_order": "Comanda dumneavoastră {subject} întârzie: ne pare rău",
        "t_resolved": "{subject}: rezolvat",
        "upd_short": "{subject}: întârzierea a ajuns la {delay}. Ne pare foarte rău.",
    },
}
T_PLURAL = {
    "pl": ("{count} wiadomość od nas", "{count} wiadomości od nas", "{count} wiadomości od nas"),
    "bg": ("{count} съобщение от нас", "{count} съобщения от нас"),
    "nl": ("{count} bericht van ons", "{count} berichten van ons"),
    "ro": ("{count} mesaj de la noi", "{count} mesaje de la noi", "{count} de mesaje de la noi"),
    "en": PLURAL,
}


def extract() -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-o",
            str(POT),
            "--project=pxr",
            "--version=0.1",
            "--copyright-holder=the pxr developers",
            "--add-comments=Translators:",
            "--no-location",
            "--sort-output",
            ".",
        ],
        cwd=ROOT,
        check=True,
    )


def fill(language: str, template: Catalog) -> Catalog:
    path = LOCALE / language / "LC_MESSAGES" / "pxr.po"
    if path.exists():
        with path.open("rb") as stream:
            catalog = read_po(stream, locale=language, domain="pxr")
        catalog.update(template, no_fuzzy_matching=True)
    else:
        catalog = Catalog(
            locale=language,
            domain="pxr",
            project="pxr",
            version="0.1",
            copyright_holder="the pxr developers",
        )
        catalog.update(template, no_fuzzy_matching=True)
    texts = T.get(language, {})
    by_msgid = {M[key]: text for key, text in texts.items()}
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            message.string = T_PLURAL[language]
        elif language == "en":
            message.string = message.id
        elif message.id in by_msgid:
            message.string = by_msgid[message.id]
        message.flags.discard("fuzzy")
    catalog.obsolete.clear()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        write_po(stream, catalog, no_location=True, width=100)
    with path.with_suffix(".mo").open("wb") as stream:
        write_mo(stream, catalog)
    return catalog


def main() -> None:
    extract()
    with POT.open("rb") as stream:
        template = read_po(stream)
    missing = [m for m in M.values() if m not in template]
    if missing:
        raise SystemExit(f"msgids here but not in the source: {missing}")
    for language in ("en", "pl", "bg", "nl", "ro"):
        catalog = fill(language, template)
        untranslated = [m.id for m in catalog if m.id and not m.string]
        print(f"{language}: {len(catalog)} messages, {len(untranslated)} untranslated")


if __name__ == "__main__":
    main()
