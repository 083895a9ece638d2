"""Word lists for the text and classification families: common English words and hidden categories."""
from __future__ import annotations

COMMON = tuple(dict.fromkeys("""
time year people way day man thing woman life child world school state family student group country
problem hand part place case week company system program question work government number night point
home water room mother area money story fact month lot right study book eye job word business issue
side kind head house service friend father power hour game line end member law car city community name
president team minute idea kid body information back parent face others level office door health person
art war history party result change morning reason research girl guy moment air teacher force education
foot boy age policy music market sense nation plan college interest death experience effect class control
care field development role effort rate heart drug show leader light voice wife police mind price report
decision son view relationship town road arm difference value building action model season society tax
director position player record paper space ground form event official matter center couple site project
activity star table need court oil situation cost industry figure street image phone data picture practice
piece land product doctor wall patient worker news test movie north love support technology step baby
computer type attention film tree source organization hair window evidence population truth song river
garden bridge summer winter forest island ocean valley mountain station kitchen letter garden blanket
candle pencil basket ladder mirror pillow rocket saddle tunnel wagon anchor button carpet engine feather
hammer jacket lantern marble needle orange pepper ribbon silver spoon ticket violin whistle yellow zebra
quick bright calm dark early happy heavy little quiet rapid sharp simple small smooth strong sweet warm
wild young brave clever gentle proud silent golden ancient hidden narrow
""".split()))  # dict.fromkeys drops repeats

# Hidden categories for classification. Pool A is seen in adaptation; pool B only in held-out families.
CATEGORIES_A: dict[str, tuple[str, ...]] = {
    "animal": ("dog", "cat", "horse", "tiger", "rabbit", "mouse", "lion", "wolf", "sheep", "goat",
               "bear", "fox", "deer", "monkey", "camel", "otter"),
    "fruit": ("apple", "banana", "cherry", "grape", "mango", "peach", "pear", "plum", "lemon", "melon",
              "kiwi", "papaya", "apricot", "fig", "lime", "coconut"),
    "colour": ("red", "blue", "green", "purple", "pink", "brown", "black", "white", "grey", "orange",
               "violet", "indigo", "teal", "maroon", "beige", "cyan"),
    "country": ("france", "japan", "brazil", "canada", "egypt", "india", "mexico", "spain", "kenya",
                "norway", "peru", "chile", "italy", "germany", "vietnam", "turkey"),
    "tool": ("hammer", "wrench", "saw", "drill", "screwdriver", "pliers", "chisel", "shovel", "rake",
             "axe", "file", "clamp", "level", "trowel", "mallet", "crowbar"),
    "vehicle": ("car", "bus", "truck", "bicycle", "train", "tram", "scooter", "van", "taxi", "tractor",
                "motorbike", "ferry", "canoe", "yacht", "jeep", "subway"),
}
CATEGORIES_B: dict[str, tuple[str, ...]] = {
    "instrument": ("piano", "guitar", "violin", "drum", "flute", "trumpet", "cello", "harp", "banjo",
                   "clarinet", "oboe", "tuba", "ukulele", "saxophone", "organ", "harmonica"),
    "sport": ("tennis", "soccer", "golf", "rugby", "hockey", "boxing", "cricket", "baseball", "rowing",
              "skiing", "surfing", "fencing", "archery", "cycling", "karate", "volleyball"),
    "body_part": ("elbow", "knee", "ankle", "shoulder", "wrist", "finger", "thumb", "chin", "nose",
                  "ear", "forehead", "heel", "hip", "neck", "toe", "cheek"),
    "clothing": ("shirt", "jacket", "scarf", "sock", "glove", "hat", "skirt", "coat", "sweater",
                 "boot", "belt", "vest", "dress", "sandal", "hoodie", "tie"),
    "weather": ("rain", "snow", "hail", "fog", "thunder", "drizzle", "sleet", "storm", "breeze",
                "frost", "mist", "blizzard", "sunshine", "tornado", "monsoon", "gale"),
}

# Templates for phrase inputs; {} is the category member.
PHRASES = ("i saw a {} today", "there is a {} here", "we talked about the {}", "my friend likes the {}",
           "look at that {}", "she found a {} yesterday", "the {} was nearby", "he drew a {}")

SYLLABLES_ON = "b bl br d dr f fl g gl gr k kr l m n p pl pr s sk sl sn st t tr v z zw".split()
SYLLABLES_NUC = "a e i o u oo ee ai".split()
SYLLABLES_CODA = "ck rp x ng mp b g t sh m n".split()
