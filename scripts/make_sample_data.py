#!/usr/bin/env python3
"""Generate the bundled service-desk sample data set (train.tsv and eval.tsv).

Every text is produced from templates written for this project: eight ticket categories, a few
intents per category, several paraphrase templates per intent, and slot fillers (apps, offices,
rooms, times, ...). Nothing is copied from any existing data set.

Pipeline (fully deterministic, ``random.Random(13)``):

1. Expand templates into ticket texts, occasionally adding a realistic typo.
2. Split the *templates* of every intent into a TRAIN and an EVAL part, so that the two files share
   no text and not even a phrasing pattern.
3. Within each split, build labelled pairs:
   - label 1: two tickets of the same category (half paraphrases of the same intent, half related
     tickets of the same category), preferring pairs with little word overlap;
   - label 0: tickets of different categories, most of them HARD negatives that share surface words
     (password, access, screen, install, room, slow, ...), the rest random.

Usage::

    python scripts/make_sample_data.py            # writes src/embedtune/resources/sample/{train,eval}.tsv
    python scripts/make_sample_data.py --out DIR  # write somewhere else
    python scripts/make_sample_data.py --check    # regenerate in memory and compare with the files on disk
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

SEED = 13
N_TRAIN_PAIRS = 400
N_EVAL_PAIRS = 200
EVAL_TEMPLATE_SHARE = 0.3  # share of each intent's templates held out for eval.tsv
PARAPHRASE_SHARE = 0.7  # share of positives that are paraphrases of the same intent
HARD_NEGATIVE_SHARE = 0.5  # share of negatives that share content words across categories
TYPO_RATE = 0.12
MAX_USES = 6  # at most this many pairs per text within one file
MIN_WORDS, MAX_WORDS = 6, 25
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "embedtune" / "resources" / "sample"

SLOTS: dict[str, list[str]] = {
    "app": ["Excel", "Teams", "Zoom", "Adobe Acrobat", "Tableau", "AutoCAD", "SAP", "Visio", "Power BI", "Slack"],
    "office": [
        "the Leeds office",
        "Building B",
        "the Rotterdam site",
        "head office",
        "the Lyon branch",
        "the warehouse office",
    ],
    "floor": ["2nd floor", "3rd floor", "4th floor", "ground floor", "5th floor"],
    "room": ["meeting room 4B", "the Oak room", "room 2.14", "the boardroom", "the training room"],
    "time": [
        "since this morning",
        "since Monday",
        "since yesterday",
        "for two days",
        "since the weekend",
        "after lunch today",
    ],
    "device": ["laptop", "ThinkPad", "Dell laptop", "MacBook", "work laptop"],
    "printer": [
        "the printer by reception",
        "printer PRN-3F-02",
        "the big Canon on our floor",
        "the HP near the kitchen",
        "the copier in the post room",
    ],
    "folder": ["Finance", "Marketing", "Projects", "HR Policies", "Sales Q3"],
    "month": ["March", "June", "September", "last month", "November"],
    "system": ["the CRM", "Workday", "the intranet", "Jira", "the expenses portal", "SharePoint"],
}

# category -> intent -> paraphrase templates. Words such as password, access, screen, install, room,
# desk, phone, update, slow, card and connect deliberately recur across categories so that the
# negatives are not separable by keywords alone.
CATEGORIES: dict[str, dict[str, list[str]]] = {
    "account_access": {
        "locked": [
            "my account is locked, I typed the wrong password too many times",
            "cant log in, it says account locked",
            "my credentials stopped working after three wrong tries this morning",
            "locked out of windows after a few failed attempts, please unlock",
            "sign in blocked: too many incorrect attempts. can someone reset the lockout?",
            "I am locked out of {system} and of my laptop login {time}",
            "got the message that my user is disabled after failed logins",
        ],
        "forgot_password": [
            "forgot my password after the holidays, need a reset",
            "I can not remember my login password, please send a reset link",
            "the self service password reset page does not accept my answers",
            "need a temporary password, mine is gone from my memory",
            "please reset my password, I changed it on Friday and forgot it",
            "password reset email never arrives so I still cannot sign in",
            "what is the process to reset my network password when working from home?",
        ],
        "password_expired": [
            "windows says my password has expired and the change screen keeps failing",
            "forced password change does not accept any new password I try",
            "my password expired while I was on leave and now nothing lets me in",
            "it keeps saying the new password does not meet complexity rules",
            "password expiry warning popped up, changed it, now {system} rejects the new one",
            "expired credentials, the prompt to set a new one just loops",
        ],
        "mfa": [
            "got a new phone and the authenticator app codes no longer work",
            "I am not receiving the two factor text message when signing in",
            "MFA prompt never shows up on my phone so I cant log in",
            "need to move my multi factor authentication to a new mobile number",
            "lost my phone, how do I sign in without the verification code?",
            "the approve sign in notification times out before it reaches me",
            "please update the phone number used for my login verification",
        ],
        "permissions": [
            "I need access to the {folder} shared drive, my manager approved it",
            "access denied when opening the {folder} folder on the file server",
            "please add me to the {folder} group so I can open those files",
            "cannot open files in the {folder} team site, says I have no permission",
            "since moving teams I lost access to the {folder} share",
            "requesting read and write rights on the {folder} network drive",
            "my new colleague has no access to {system} yet, can you grant it",
        ],
        "new_account": [
            "new starter next Monday still has no username or login",
            "our new hire cannot sign in, was an account ever created?",
            "please set up a user account for a contractor starting on the {floor}",
            "my account was not created yet and I start in {office} tomorrow",
            "the login for our new team member has not been activated",
            "need network credentials for an intern starting this week",
        ],
    },
    "network_vpn": {
        "vpn": [
            "VPN will not connect from home, it just times out",
            "the vpn client says authentication failed even with correct details",
            "cannot connect to the company network remotely {time}",
            "GlobalProtect keeps disconnecting every ten minutes when I work from home",
            "remote access tunnel drops as soon as I open big files",
            "vpn connects but I cant reach any internal sites",
            "working from a hotel and the vpn refuses to establish a connection",
        ],
        "wifi": [
            "wifi keeps dropping on the {floor} of {office}",
            "the office wireless disconnects every few minutes {time}",
            "my {device} sees the corporate wifi but will not connect to it",
            "no wireless signal at all in {room}",
            "wireless network is really unstable near the kitchen area",
            "cant join the staff wifi, it says unable to connect to this network",
            "wifi in {room} drops whenever a video call starts",
        ],
        "slow_internet": [
            "internet is extremely slow in {office} {time}",
            "web pages take forever to load on the office network",
            "network speed is terrible, downloads crawl at a few kb per second",
            "everything online is sluggish, speed test shows 2 Mbps",
            "the connection in {office} is so slow that video calls freeze",
            "uploading to the cloud takes ages, is the line congested?",
        ],
        "guest_wifi": [
            "what is the guest wifi password for visitors today?",
            "a client is visiting {office}, how do they get on the guest network",
            "the guest wireless voucher code is not working for our visitors",
            "need guest internet access for a supplier workshop in {room}",
            "visitors cannot get online, the guest portal page never loads",
            "can you generate wifi credentials for ten external trainees",
        ],
        "ethernet": [
            "the network port at my desk is dead, no link light",
            "plugged the cable into the wall socket and get no connection",
            "wired connection not working at hot desk 14 on the {floor}",
            "lan port in {room} does not give an ip address",
            "my network cable gets no connection but wifi works fine",
            "ethernet socket next to my desk seems to be unpatched",
        ],
    },
    "email_calendar": {
        "mailbox_full": [
            "my mailbox is full and I cannot send any emails",
            "outlook warns that my inbox is over its size limit",
            "getting mailbox quota exceeded messages every hour",
            "can you increase my email storage, it says almost full",
            "I cannot receive mail because my mailbox has reached its limit",
            "need more space in outlook, archive does not seem to help",
        ],
        "not_receiving": [
            "I am not getting emails from external customers {time}",
            "mails from one supplier never arrive in my inbox",
            "emails stuck in the outbox and will not send",
            "people say they emailed me but nothing shows up, not even in junk",
            "messages to gmail addresses bounce back as undeliverable",
            "my sent emails are not reaching anyone outside the company",
            "no new mail coming in {time}, inbox looks frozen",
        ],
        "calendar": [
            "meeting invites do not show up in my outlook calendar",
            "my calendar shows the wrong time zone for all meetings",
            "booked {room} in outlook but the invite was declined automatically",
            "recurring meeting disappeared from my calendar",
            "colleagues cannot see my free busy time when scheduling",
            "I cannot accept meeting requests, the buttons are greyed out",
            "teams meetings I schedule are not added to the attendees calendars",
        ],
        "out_of_office": [
            "how do I set up an automatic out of office reply before my leave?",
            "my out of office message is not being sent to external senders",
            "please turn on my auto reply, I am off sick and cant get to outlook",
            "out of office keeps replying even though I am back",
            "need an automatic reply on a former colleagues mailbox",
            "where is the setting for holiday auto responses in the new outlook",
        ],
        "mobile_mail": [
            "work email stopped syncing on my phone {time}",
            "outlook app on my phone does not show new messages",
            "calendar on my mobile is out of date compared to my desktop",
            "cannot add my company mailbox to the mail app on my new phone",
            "emails on my iphone only update when I open the app",
            "phone mail sync error, says the account settings are out of date",
        ],
        "distribution_list": [
            "please add me to the {folder} mailing list",
            "I am not receiving emails sent to the team distribution list",
            "need a new email group for the project team with six members",
            "remove a leaver from the sales distribution list",
            "who owns the all staff mailing group, I need to post to it",
            "emails to our shared team address are not reaching everyone",
        ],
    },
    "laptop_hardware": {
        "no_power": [
            "my {device} will not turn on at all, no lights",
            "laptop is dead, pressing the power button does nothing",
            "computer does not boot, just a black screen and a beep",
            "my {device} shuts down straight after the logo appears",
            "pc will not start this morning even when plugged in",
            "laptop stuck on the manufacturer logo and never boots",
        ],
        "screen": [
            "my laptop screen is flickering and has lines across it",
            "dropped my {device} and the display is cracked",
            "screen goes black randomly but the laptop keeps running",
            "there is a dead pixel patch in the middle of my display",
            "display very dim and brightness keys do nothing",
            "laptop lid hinge broke and the screen wobbles",
        ],
        "battery": [
            "battery drains in under an hour on my {device}",
            "laptop charger stopped working, the light on the brick is off",
            "my {device} is not charging when plugged in",
            "battery is swollen and the case is bulging",
            "need a replacement power adapter, mine is frayed",
            "laptop only runs when plugged in, battery says 0 percent",
        ],
        "keyboard": [
            "several keys on my keyboard stopped working",
            "the trackpad on my {device} is not responding",
            "spilled coffee on my laptop keyboard, keys are sticky now",
            "mouse cursor jumps around by itself",
            "the space bar is broken and the letter e types twice",
            "need a new wireless mouse and keyboard set for my desk",
        ],
        "dock_monitor": [
            "external monitor not detected when I plug into the docking station",
            "second screen at my desk shows no signal",
            "dock does not charge my {device} or show the monitors",
            "monitors flicker when connected through the usb c dock",
            "hdmi cable to the big screen in {room} does not work with my laptop",
            "my desk setup lost both monitors after the weekend",
        ],
        "overheating": [
            "laptop gets very hot and the fan is loud all the time",
            "my {device} overheats and shuts itself off during calls",
            "fan noise is constant and the bottom of the laptop burns",
            "the machine is crawling and the case is really hot",
            "laptop makes a grinding noise from the fan area",
            "computer freezes when it warms up after an hour of use",
        ],
    },
    "printing": {
        "jam": [
            "{printer} has a paper jam again",
            "paper stuck inside the printer and the tray will not open",
            "printer keeps saying jam in tray 2 but there is no paper there",
            "pages crumple up halfway through printing",
            "copier shows error paper misfeed on every job",
            "there is a sheet torn inside {printer} that I cannot reach",
        ],
        "offline": [
            "{printer} shows as offline on my laptop",
            "my print jobs sit in the queue and never come out",
            "cannot find the printer on the {floor} in the list of devices",
            "how do I add the new printer in {office} to my computer",
            "the printer vanished from my printer list after it was moved to another room",
            "nothing prints, the queue says error printing",
            "need the printer driver installed for {printer}",
        ],
        "quality": [
            "printouts come out blank even though the toner is new",
            "prints have black streaks down the side of every page",
            "{printer} is low on toner and we have no spare cartridge",
            "colour prints come out faded and pink",
            "text is smudged on everything from {printer}",
            "can someone order a yellow toner for the colour printer",
        ],
        "scan": [
            "scan to email is not sending anything to my inbox",
            "the scanner on the copier does not save to my folder",
            "scanned documents never arrive in my email",
            "copier cannot scan, says smtp error on the touch panel",
            "need the scan to folder shortcut set up for the {folder} team",
            "scanning multi page pdfs only gives me the first page",
        ],
        "secure_print": [
            "my badge does not release print jobs at the printer",
            "secure print PIN not accepted at the copier",
            "tap my card on the printer and it says unknown user",
            "follow me printing does not show my documents at the device",
            "how do I register my access card for print release",
            "print release station rejects my code {time}",
        ],
        "printer_screen": [
            "the touch screen on {printer} is frozen",
            "printer display is blank but the lights are on",
            "copier panel stuck on please wait for an hour",
            "the printer screen shows error code E-302 and will not clear",
            "buttons on the printer panel do nothing when pressed",
            "{printer} keeps rebooting and the display flickers",
        ],
    },
    "software": {
        "install": [
            "please install {app} on my laptop",
            "I need {app} installed for a new project",
            "can you put {app} on my machine, it is not in the software centre",
            "request to install the latest version of {app}",
            "software centre install of {app} fails halfway",
            "need {app} on my new laptop, it was on my old one",
            "how can I get {app} installed without admin rights?",
        ],
        "licence": [
            "{app} says my licence has expired",
            "getting a product activation error when opening {app}",
            "need a licence for {app}, my trial ended",
            "{app} opened in read only mode, says unlicensed product",
            "our team ran out of {app} seats, can we buy two more",
            "licence key for {app} is rejected on activation",
        ],
        "crash": [
            "{app} crashes every time I open it",
            "{app} freezes and then closes without any error",
            "{app} is not responding whenever I open a large file",
            "application keeps crashing after a few minutes of use",
            "{app} closes unexpectedly when I try to save",
            "getting an unexpected error and {app} shuts down {time}",
        ],
        "update": [
            "{app} update failed and now it will not open",
            "windows updates are stuck at 30 percent for hours",
            "my laptop keeps asking to restart for updates that never finish",
            "since the latest {app} update the toolbar has vanished",
            "need to roll back the {app} update, it broke our macros",
            "update error 0x80070002 keeps coming back",
        ],
        "admin_rights": [
            "I need local admin rights to install developer tools",
            "can I get temporary administrator access to install a plugin",
            "installer asks for an admin password I do not have",
            "need elevated permissions to run a setup file for a vendor tool",
            "please grant me admin access so I can install python packages",
            "user account control blocks me from installing a driver",
        ],
        "screen_share": [
            "screen sharing in Teams shows a black window to others",
            "cannot share my screen in {app} calls",
            "my microphone is not picked up in {app} meetings",
            "colleagues cannot hear me in Teams but the headset works elsewhere",
            "camera not detected in {app} even though it works in other apps",
            "when I share a screen in a call everything lags",
        ],
    },
    "hr_payroll": {
        "payslip": [
            "I cannot find my payslip for {month}",
            "where can I download my pay slips from last year?",
            "my {month} payslip is missing from {system}",
            "need a copy of my salary statement for a mortgage application",
            "the payslip portal only shows the last three months, I need older ones",
            "did not get an email with my payslip this month",
        ],
        "wrong_pay": [
            "my overtime was not included in my {month} salary",
            "I was paid less than usual this month, can payroll check?",
            "salary arrived short, the bonus seems to be missing",
            "tax deduction on my pay looks far too high",
            "I have been underpaid for the night shifts I worked",
            "my pay rise was not applied in the last payroll run",
            "payment for my weekend cover hours is missing",
        ],
        "leave": [
            "my annual leave balance looks wrong in {system}",
            "how many holiday days do I have left this year?",
            "my holiday request has been pending approval for two weeks",
            "can I carry over unused vacation days into next year",
            "the leave system shows I took days I was actually working",
            "how do I book time off for a family wedding",
        ],
        "bank_details": [
            "I need to update my bank details for salary payments",
            "changed banks, where do I enter my new account number for pay?",
            "please change the account my wages are paid into",
            "how do I update my home address and bank info in {system}",
            "my salary went to my old bank account, I changed it last month",
            "need to update my emergency contact and phone number on my hr record",
        ],
        "expenses": [
            "my expense claim from {month} has not been reimbursed",
            "how do I claim back travel costs for the client visit",
            "expenses submitted weeks ago are still waiting for approval",
            "lost a receipt for a hotel stay, can I still claim it",
            "mileage claim was rejected and I do not understand why",
            "the company card statement does not match my expense report",
        ],
        "parental_sick": [
            "what is the policy for paternity leave and how do I apply",
            "I will be off sick for a week, who do I notify?",
            "how do I register my maternity leave dates with hr",
            "need a sick note form for my manager after a hospital visit",
            "questions about pay during my parental leave",
            "can I request flexible working after coming back from leave",
        ],
    },
    "facilities": {
        "temperature": [
            "it is freezing in {room}, the heating is off",
            "air conditioning on the {floor} is blowing warm air",
            "way too hot in our open plan area {time}",
            "radiator by my desk is not working and the office is cold",
            "the office temperature is unbearable, can someone check the thermostat",
            "aircon in {room} is dripping and very loud",
        ],
        "lights_power": [
            "lights in the {floor} corridor keep flickering",
            "the ceiling light above my desk is out",
            "power sockets at the window desks on the {floor} have no power",
            "half the lights in {room} are not working",
            "the emergency exit sign bulb is broken",
            "motion sensor lights switch off while we are still in the room",
        ],
        "badge_door": [
            "my badge does not open the door to the {floor}",
            "access card stopped working at the main entrance",
            "need building access for a new starter in {office}",
            "my pass only lets me in the front door, not the lab",
            "the door reader by the car park is not accepting any cards",
            "lost my id badge, how do I get a replacement pass",
            "can my security pass get access to the {floor} after 7pm",
        ],
        "desk_parking": [
            "the desk booking tool shows my desk as taken",
            "how do I reserve a parking space for a visitor",
            "need a permanent desk near my team in {office}",
            "my parking permit expired and the barrier will not open",
            "can I book a desk for a whole week in advance",
            "someone keeps using my assigned parking bay",
        ],
        "cleaning_leak": [
            "there is water leaking from the ceiling in {room}",
            "toilets on the {floor} are blocked",
            "coffee spilled all over the carpet near the lifts",
            "bins in the kitchen have not been emptied {time}",
            "the dishwasher in the kitchen is flooding the floor",
            "smell of damp in the archive room, possible leak",
        ],
        "furniture": [
            "my office chair is broken and leans to one side",
            "need a monitor arm installed on my desk",
            "can facilities install a whiteboard in {room}",
            "standing desk motor stopped, it will not go up",
            "the table in {room} wobbles and a leg is loose",
            "need a footrest and an ergonomic chair after my assessment",
        ],
    },
}

STOPWORDS = set(
    """a an the and or but if to of in on at by for from with without into onto over under up down is are was were
    be been being it its it's this that these those my mine me i i'm im our we us you your he she they them their can
    cant cannot not no do does did done doing have has had having will would should could just so as all any some still
    even then than now again keeps keep says say said get got getting need needs please how what where who why when
    which there here only very really too also after before since every one two three about out off new old latest
    last""".split()
)

_WORD = re.compile(r"[a-z0-9]+")


def content_words(text: str) -> set[str]:
    words = {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 2}
    return {w[:-1] if w.endswith("s") and len(w) > 4 else w for w in words}  # crude plural folding


def add_typo(text: str, rng: random.Random) -> str:
    """One realistic slip: dropped or swapped letter, lazy lower case, or chat-style abbreviation."""
    kind = rng.choice(["drop", "swap", "lower", "abbrev"])
    words = text.split(" ")
    long_idx = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if kind in ("drop", "swap") and long_idx:
        i = rng.choice(long_idx)
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        words[i] = w[:j] + w[j + 1 :] if kind == "drop" else w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        return " ".join(words)
    if kind == "abbrev":
        swaps = [(" please ", " pls "), (" you ", " u "), ("please ", "pls "), (" because ", " cos ")]
        swaps.append((" cannot ", " cant "))
        for old, new in swaps:
            if old in f" {text} ":
                return f" {text} ".replace(old, new, 1).strip()
    return text.lower().rstrip("?.!")


def expand(rng: random.Random) -> list[dict]:
    """Every (category, intent, template) expanded into one or two concrete ticket texts."""
    texts: list[dict] = []
    seen: set[str] = set()
    slot_re = re.compile(r"\{(\w+)\}")
    for cat, intents in CATEGORIES.items():
        for intent, templates in intents.items():
            for t_idx, template in enumerate(templates):
                n_fill = 2 if slot_re.search(template) else 1
                for _ in range(n_fill):
                    text = slot_re.sub(lambda m: rng.choice(SLOTS[m.group(1)]), template)
                    if rng.random() < TYPO_RATE:
                        text = add_typo(text, rng)
                    text = text[0].upper() + text[1:] if rng.random() < 0.7 else text
                    text = " ".join(text.split())
                    n_words = len(text.split())
                    assert MIN_WORDS <= n_words <= MAX_WORDS, (n_words, text)
                    assert not any(c in text for c in '\t\n\r"'), text
                    if text.lower() in seen:
                        continue
                    seen.add(text.lower())
                    texts.append({"text": text, "cat": cat, "intent": intent, "template": (cat, intent, t_idx)})
    return texts


def split_texts(texts: list[dict], rng: random.Random) -> tuple[list[dict], list[dict]]:
    """Hold out a share of each intent's templates (with all their fillings) for eval."""
    eval_templates: set[tuple] = set()
    for cat, intents in CATEGORIES.items():
        for intent, templates in intents.items():
            idx = list(range(len(templates)))
            rng.shuffle(idx)
            n_eval = max(2, round(EVAL_TEMPLATE_SHARE * len(templates)))
            eval_templates.update((cat, intent, i) for i in idx[:n_eval])
    train = [t for t in texts if t["template"] not in eval_templates]
    evals = [t for t in texts if t["template"] in eval_templates]
    return train, evals


def overlap(a: dict, b: dict) -> int:
    return len(content_words(a["text"]) & content_words(b["text"]))


def make_pairs(texts: list[dict], n_pairs: int, rng: random.Random) -> list[tuple[str, str, int]]:
    n_pos = n_pairs // 2
    n_neg = n_pairs - n_pos
    n_para = round(n_pos * PARAPHRASE_SHARE)
    n_hard = round(n_neg * HARD_NEGATIVE_SHARE)

    all_pairs = [(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))]
    paraphrase, related, hard, easy = [], [], [], []
    for i, j in all_pairs:
        a, b = texts[i], texts[j]
        if a["template"] == b["template"]:
            continue  # two fillings of one template are near-duplicates, not paraphrases
        if a["cat"] == b["cat"]:
            (paraphrase if a["intent"] == b["intent"] else related).append((i, j))
        elif overlap(a, b) >= 1:
            hard.append((i, j))
        else:
            easy.append((i, j))

    def pick(pool: list[tuple[int, int]], k: int, prefer_low_overlap: bool | None) -> list[tuple[int, int]]:
        pool = pool[:]
        rng.shuffle(pool)
        if prefer_low_overlap is not None:
            # a stable sort on overlap after shuffling keeps the choice random within each overlap level
            pool.sort(key=lambda p: overlap(texts[p[0]], texts[p[1]]), reverse=not prefer_low_overlap)
            # take from the preferred half only, still at random, so that the pairs stay varied
            pool = pool[: max(k, len(pool) // 2)]
            rng.shuffle(pool)
        chosen = []
        for p in pool:
            # spread the pairs over many texts: no text in more than MAX_USES pairs of a file
            if use.get(p[0], 0) >= MAX_USES or use.get(p[1], 0) >= MAX_USES:
                continue
            chosen.append(p)
            use[p[0]] = use.get(p[0], 0) + 1
            use[p[1]] = use.get(p[1], 0) + 1
            if len(chosen) == k:
                return chosen
        raise SystemExit(f"not enough candidate pairs: wanted {k}, found {len(chosen)}")

    use: dict[int, int] = {}
    rows: list[tuple[int, int, int]] = []
    rows += [(i, j, 1) for i, j in pick(paraphrase, n_para, prefer_low_overlap=True)]
    rows += [(i, j, 1) for i, j in pick(related, n_pos - n_para, prefer_low_overlap=True)]
    rows += [(i, j, 0) for i, j in pick(hard, n_hard, prefer_low_overlap=False)]
    rows += [(i, j, 0) for i, j in pick(easy, n_neg - n_hard, prefer_low_overlap=None)]
    rng.shuffle(rows)
    out = []
    for i, j, label in rows:
        if rng.random() < 0.5:
            i, j = j, i
        out.append((texts[i]["text"], texts[j]["text"], label))
    return out


def build() -> dict[str, list[tuple[str, str, int]]]:
    rng = random.Random(SEED)
    texts = expand(rng)
    train_texts, eval_texts = split_texts(texts, rng)
    train = make_pairs(train_texts, N_TRAIN_PAIRS, rng)
    evals = make_pairs(eval_texts, N_EVAL_PAIRS, rng)
    validate(train, evals)
    return {"train.tsv": train, "eval.tsv": evals}


def validate(train: list[tuple[str, str, int]], evals: list[tuple[str, str, int]]) -> None:
    for rows in (train, evals):
        keys = [frozenset((a, b)) for a, b, _ in rows]
        assert len(keys) == len(set(keys)), "duplicate pair within a file"
        assert all(a != b for a, b, _ in rows), "a pair of a text with itself"
    train_texts = {t for a, b, _ in train for t in (a, b)}
    eval_texts = {t for a, b, _ in evals for t in (a, b)}
    assert not train_texts & eval_texts, "a text appears in both train and eval"


def render(rows: list[tuple[str, str, int]]) -> str:
    lines = ["sentence1\tsentence2\tlabel"] + [f"{a}\t{b}\t{label}" for a, b, label in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument("--check", action="store_true", help="do not write; fail if the files on disk differ")
    args = parser.parse_args(argv)

    files = build()
    if args.check:
        stale = [
            name
            for name, rows in files.items()
            if not (args.out / name).is_file() or (args.out / name).read_text(encoding="utf-8") != render(rows)
        ]
        if stale:
            print(f"out of date: {', '.join(stale)} (run scripts/make_sample_data.py)", file=sys.stderr)
            return 1
        print("sample data is up to date")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (args.out / name).write_text(render(rows), encoding="utf-8", newline="\n")
        pos = sum(label for _, _, label in rows)
        print(f"{args.out / name}: {len(rows)} pairs, {pos} positive ({pos / len(rows):.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
