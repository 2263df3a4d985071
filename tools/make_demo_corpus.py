"""Generate lem_keras's embedded demo corpus (English and Chinese).

The demo corpus is written by this project (nothing is copied from any
dataset): hand-written clause templates per emotion are filled with words
from small pools and combined, so that a sentence's emotions are exactly the
emotions of its clauses.  Emotion sets follow a realistic co-occurrence
pattern (anger with disgust, joy with love and optimism, ...): most sentences
carry two or three emotions, a few carry none.

Generation is deterministic (seeded).  To keep the dev split from being a
copy of train, the last template of every emotion is only used for dev
sentences, and train and dev never share a sentence.

Usage (from the repository root)::

    .venv/bin/python tools/make_demo_corpus.py            # writes lem_keras/data/demo_corpus/
    .venv/bin/python tools/make_demo_corpus.py --out DIR
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

SEED = 20200207

EN_EMOTIONS = [
    "anger",
    "anticipation",
    "disgust",
    "fear",
    "joy",
    "love",
    "optimism",
    "pessimism",
    "sadness",
    "surprise",
    "trust",
]
ZH_EMOTIONS = ["joy", "hate", "love", "sorrow", "anxiety", "surprise", "anger", "expect"]

EN_SIZES = {"train": 2000, "dev": 400}
ZH_SIZES = {"train": 96, "dev": 24}

# Number of emotions per sentence: weights for 0, 1, 2, 3 (English: mostly plain
# one-emotion sentences, so that every clause is also seen on its own).
N_EMOTIONS_WEIGHTS = [0.06, 0.32, 0.42, 0.20]
EN_N_EMOTIONS_WEIGHTS = [0.10, 0.50, 0.32, 0.08]
# Templates (English: the last four of every emotion) used only for dev sentences.
EN_DEV_TEMPLATES = 4

# ---------------------------------------------------------------------------
# English
# ---------------------------------------------------------------------------

EN_FILLERS: dict[str, list[str]] = {
    "person": [
        "my boss", "my roommate", "my sister", "my brother", "my neighbour", "the landlord",
        "my coach", "my coworker", "my teacher", "the manager", "my ex", "the delivery guy",
        "my cousin", "the new guy at work", "that customer", "the referee", "my flatmate",
        "the guy next door", "our waiter", "the mechanic",
    ],
    "friend": [
        "my best friend", "my sister", "my mom", "my mum", "my grandma", "my partner", "my team",
        "my dad", "my little brother", "my wife", "my husband", "my boyfriend", "my girlfriend",
        "my son", "my daughter", "my kids", "my grandpa", "my aunt", "my uncle", "my family",
        "my friends", "my bestie", "my parents", "my nan",
    ],
    "event": [
        "the concert", "my job interview", "the final exam", "the match", "our road trip",
        "the wedding", "my driving test", "the season finale", "the big presentation",
        "graduation", "the festival", "my first day at work", "the holidays", "the party",
        "my birthday", "our vacation", "the game", "the surgery", "the trip to Spain",
        "the camping trip", "my exams", "the new season", "the football final", "my date",
        "the results", "summer break", "the move", "the audition", "the show",
    ],
    "time": [
        "tonight", "tomorrow", "this weekend", "on friday", "next week", "in the morning",
        "this summer", "on monday", "today", "next month", "after work", "on saturday",
    ],
    "place": [
        "the airport", "the gym", "the beach", "the office", "the mall", "the train station",
        "the park", "the hospital", "the coffee shop", "the stadium", "the supermarket",
        "school", "work", "the bus stop", "the cinema", "the restaurant", "the hotel",
        "the library", "the lake", "my parents' house",
    ],
    "thing": [
        "my laptop", "the new phone", "the bus", "the wifi", "my car", "the printer",
        "the app update", "the washing machine", "my headphones", "the train", "the heating",
        "the dishwasher", "my bike", "the tv", "the microwave",
    ],
    "food": [
        "pizza", "sushi", "my salad", "the soup", "this burger", "my sandwich", "the pasta",
        "my cereal", "the chicken", "the milk", "the cheese", "my coffee", "the leftovers",
        "the fish", "the rice",
    ],
    "pet": ["dog", "cat", "puppy", "kitten", "old dog", "bunny", "hamster", "parrot"],
    "n": ["2", "3", "5", "two", "three", "ten", "four", "six"],
    "offense": [
        "cancelled on me last minute", "ignored all my messages", "took credit for my work",
        "cut in line in front of me", "blocked my driveway again", "yelled at me for nothing",
        "read my private texts", "broke another promise", "lied to me again",
        "scratched my car and drove off", "stole my lunch from the fridge",
        "charged me twice", "kept me waiting for an hour", "insulted my family",
        "cheated in the game", "blamed me for their mistake", "left the mess for me again",
        "talked behind my back", "slammed the door in my face", "was rude to my mum",
    ],
    "win": [
        "we won the game", "I passed my driving test", "I got the job", "we got the house",
        "I finished my first marathon", "I got a promotion", "our team won the cup",
        "I passed all my exams", "she said yes", "we're having a baby", "I got into college",
        "my paintings sold", "I got a raise", "the surgery went well", "we made it to the final",
        "I finally finished the project", "my sister is getting married",
        "I got an A on my essay", "we beat the champions", "I found my lost ring",
    ],
    "fun": [
        "spent the whole day at the beach", "had dinner with old friends",
        "danced all night", "went to the fair", "laughed until my stomach hurt",
        "watched the sunset with my friends", "had a picnic in the park",
        "played football in the sun", "baked cookies with the kids", "sang karaoke all night",
        "went swimming in the lake", "had pancakes for breakfast",
    ],
    "surprising": [
        "the quiet kid won the whole tournament", "my landlord lowered the rent",
        "it snowed in april", "the underdogs beat the champions",
        "my ex texted me after five years", "the store closed down overnight",
        "my dad joined twitter", "the bus was early", "they cancelled the show after one episode",
        "my shy cousin got a tattoo", "the old bakery reopened", "my teacher remembered my name",
        "the price dropped by half", "we got a letter from the queen", "the cat learned to open doors",
        "my brother cooked dinner", "the game went to penalties", "a stranger paid for my coffee",
        "my friends threw me a party", "the boss gave everyone friday off",
    ],
    "hope": [
        "the results come back good", "the team bounces back", "my sister gets the scholarship",
        "next year is kinder to us", "the new job works out", "we find a new home soon",
        "my dad gets better", "things turn around", "the weather clears up for the wedding",
        "I pass the exam",
    ],
    "loss": [
        "my grandpa passed away", "we lost the match", "my best friend moved away",
        "my old dog died", "the shop I grew up with closed", "she said goodbye",
        "my uncle died last week", "we broke up", "I lost my job", "my cat is gone",
        "my grandma is in hospital", "I failed the exam", "nobody came to my party",
        "my parents are getting divorced", "my friend stopped talking to me",
    ],
    "gross_thing": [
        "a hair in my soup", "green fuzz on the cheese", "a cockroach in the kitchen",
        "someone spitting on the street", "the bins overflowing", "sour milk in my coffee",
        "maggots in the rubbish", "a used tissue on the table", "slime in the shower",
        "rotten meat in the fridge", "dog poo on the pavement", "a fly in my drink",
    ],
    "neutral": [
        "going to {place} {time}", "new episode of the show comes out {time}",
        "anyone know a good mechanic near {place}?", "reading about the history of trains",
        "traffic on the highway as usual", "meeting moved to {time}", "lunch today was {food}",
        "the game starts at 7pm", "updated {thing} this morning", "the library opens at nine",
        "bought a new umbrella", "rain forecast for {time}", "the match is on channel four {time}",
        "I did not have time to read the paper", "we are not going out {time}",
        "the weekend starts on friday evening", "picking up {friend} from {place} {time}",
        "my phone battery is at fifty percent", "the shop does not open on sunday",
        "I need to buy eggs and butter", "the bus leaves at half past eight",
        "we moved the sofa to the other room", "cooking {food} for dinner {time}",
        "the meeting is in room four", "watching the news {time}", "I walked to {place} {time}",
        "my cousin lives near {place}", "the printer needs new ink", "I have a haircut booked {time}",
        "the train was on time today", "writing my notes for {event}", "the forecast says cloudy {time}",
        "I never drink coffee after six", "the kids are at school until three",
    ],
}

# Emotion word pools (slots shared by the templates of one emotion).
EN_WORDS: dict[str, list[str]] = {
    "im": ["I'm", "I am", "I feel", "feeling", "I'm feeling", "we are", "honestly I'm", "I am just"],
    "so": ["so", "really", "very", "super", "totally", "absolutely", "", "so so", "pretty", "incredibly"],
    "happy": [
        "happy", "glad", "delighted", "thrilled", "cheerful", "overjoyed", "over the moon",
        "ecstatic", "joyful", "pleased", "in such a good mood", "proud and happy", "buzzing",
        "on cloud nine", "stoked",
    ],
    "angry": [
        "angry", "furious", "mad", "livid", "pissed off", "fuming", "annoyed", "irritated",
        "fed up", "outraged", "raging", "sick of it",
    ],
    "infuriating": ["infuriating", "outrageous", "maddening", "unacceptable", "ridiculous", "so annoying"],
    "wait": [
        "can't wait", "cannot wait", "so ready", "so excited", "really can't wait", "excited",
        "eager", "so pumped",
    ],
    "gross": [
        "gross", "disgusting", "nasty", "revolting", "vile", "yuck", "sickening", "repulsive",
        "so gross", "ew", "foul",
    ],
    "scared": [
        "scared", "terrified", "afraid", "frightened", "freaking out", "worried", "nervous",
        "anxious", "panicking", "shaking",
    ],
    "nervous": ["nervous", "anxious", "on edge", "tense", "worried sick", "uneasy", "jittery"],
    "love": ["love", "adore", "cherish", "really love", "love love love"],
    "hopeful": ["hopeful", "positive", "optimistic", "confident", "sure", "full of hope"],
    "hopeless": ["hopeless", "pointless", "doomed", "a lost cause", "useless", "a waste of time"],
    "sad": [
        "sad", "heartbroken", "down", "miserable", "gutted", "depressed", "upset", "lonely",
        "devastated", "unhappy", "blue", "crushed",
    ],
    "shocked": ["shocked", "stunned", "amazed", "speechless", "surprised", "astonished", "gobsmacked"],
    "trust": ["trust", "believe in", "rely on", "count on", "have faith in"],
}

# (template, extra emotions the template itself carries); a bare string carries none.
Template = str | tuple[str, tuple[str, ...]]

EN_TEMPLATES: dict[str, list[Template]] = {
    "anger": [
        "{person} {offense} and {im} {so} {angry}",
        "{so} {angry} at {person} right now",
        "how dare {person} act like that, {angry}",
        "{thing} broke AGAIN, absolutely {angry}",
        "this is {infuriating}, they charged me twice",
        "waited {n} hours at {place} and nobody cared, {angry}",
        "my blood is boiling, {person} {offense}",
        "I am {angry} that {person} {offense}",
        "{infuriating}! {thing} died in the middle of work",
        "{im} {so} {angry}",
        "I hate it when {person} {offense}",
        "{person} {offense}, I could scream",
        "I can't stand {person} anymore, {angry}",
        "{im} not okay with this, {person} {offense}",
        "why does {person} always do this, {infuriating}",
        "that's it, I'm done with {person}",
        "unbelievable, {person} {offense} and didn't even say sorry",
        "honestly {angry}, {person} lied to my face",
        "stop ignoring me, this is {infuriating}",
        "{person} {offense}. {angry}!",
        "I don't trust {person} anymore, they {offense}",
        "never going back to {place}, the staff were rude and I'm {angry}",
    ],
    "anticipation": [
        "{wait} for {event} {time}",
        "counting down the days until {event}",
        "{event} is {time}, {wait}!",
        "only {n} more days until {event}",
        "getting ready for {event}, {wait}",
        "tickets booked for {event} {time}",
        "who else is waiting for {event}?",
        "the wait for {event} is almost over",
        "I {wait} to see {friend} {time}",
        "looking forward to {event} {time}",
        "{event} {time}! {wait}",
        "{so} excited for {event}",
        "just {n} more sleeps until {event}",
        "I keep checking the clock, {event} is almost here",
        "planning everything for {event}, {wait}",
        "I have been waiting all year for {event}",
        "not long now until {event}",
        "so close to {event}, {wait}",
        "{friend} is coming to visit {time}, {wait}",
        "packing my bags for {event}, {wait}",
        "can hardly sleep, {event} is {time}",
    ],
    "disgust": [
        "found {gross_thing}, {gross}",
        "the smell at {place} is {gross}",
        "{person} chews with their mouth open, {gross}",
        "someone left {food} rotting in the fridge, {gross}",
        "the bathroom at {place} is filthy and {gross}",
        "people who litter are {gross}",
        "that video made me want to throw up, {gross}",
        "{food} was crawling with bugs, {gross}",
        "saw {gross_thing} and nearly gagged",
        "the way {person} treats people is {gross}",
        "{gross}, {gross_thing}",
        "that is {so} {gross}, who does that",
        "I feel sick just thinking about {gross_thing}",
        "{food} smelled rotten and tasted even worse",
        "what kind of person does that, {gross} behaviour",
        "the fridge at {place} was dirty and stank",
        "ew ew ew, {gross_thing}",
        "the toilets at {place} made me gag",
        "{person} is {gross}, they never wash their hands",
        "ugh {gross_thing}, that is {gross}",
        "the floor at {place} is sticky and it smells, {gross}",
    ],
    "fear": [
        "{scared} about {event} {time}",
        "heard a noise downstairs and I am {scared}",
        "my hands are shaking before {event}, so {nervous}",
        "{scared} of driving in this storm",
        "had a nightmare last night and I am still {scared}",
        "{so} {nervous} about {event}",
        "what if I fail {event}? {scared}",
        "the lights went out at {place}, {scared}",
        "{im} {so} {scared}",
        "my heart is racing, {scared}",
        "I am afraid something bad will happen {time}",
        "I can't breathe, I'm having a panic attack",
        "someone is following me home, {scared}",
        "{im} {nervous}, the doctor wants to see me {time}",
        "{friend} is in hospital and I'm {scared}",
        "the plane is shaking, I'm terrified",
        "I'm worried sick about {friend}",
        "the dark scares me, I keep hearing things",
        "walking home alone in the dark, {scared}",
        "{nervous} and {scared}, the doctor called me back",
        "that spider is huge, I'm {scared}",
    ],
    "joy": [
        "spent the day at {place} and I am {happy}",
        "{win}, {so} {happy}",
        "best day ever with {friend}, {happy}",
        "laughing so hard with {friend}, {happy}",
        "good vibes all day, {so} {happy}",
        "sunshine, coffee and good music, {happy}",
        "this made my day, {happy}",
        "{im} {so} {happy}",
        "{im} {so} {happy} today",
        "{win}!! what great news",
        "we did it! {win}",
        "{fun}, {happy}",
        "{fun} and loved every minute",
        "yay, {win}",
        "what a great day, {win}",
        "can't stop smiling, {win}",
        "{win} and I am {so} {happy}",
        "feeling great today, {fun}",
        "such a fun night, {happy}",
        "so much fun at {event}, {happy}",
        "smiling all day because {win}",
        "{fun}, what a day",
        "danced all night at {event}, {happy}",
        "life is good, {happy}",
    ],
    "love": [
        "I {love} {friend} so much",
        "{friend} you mean the world to me, {love} you",
        "I {love} my {pet} more than anything",
        "heart full of love for {friend}",
        ("missing my {pet}, {love} that little face", ("sadness",)),
        "{friend} is my everything, {love} you",
        "cuddles with my {pet} on a rainy day, {love} it",
        "I {love} you {friend}, thank you for everything",
        "I {love} you",
        "love you {friend}",
        "so grateful for {friend}, {love} them",
        "{friend} gave me the warmest hug",
        "my heart melts every time I see {friend}",
        "{friend} is the best, I {love} them to bits",
        "I {love} spending time with {friend}",
        "happy anniversary to the love of my life",
        "nothing beats a hug from {friend}",
        ("I miss {friend} so much, I {love} them", ("sadness",)),
        "forever in love with {friend}",
        "I {love} the way {friend} laughs",
    ],
    "optimism": [
        "things will get better, stay {hopeful}",
        "tomorrow is a new day, feeling {hopeful}",
        "I believe {event} will go great",
        "never give up, better days are coming",
        "staying {hopeful} about {event}",
        "{hopeful} that {hope}",
        "every setback is a setup for a comeback, stay {hopeful}",
        "good things take time, stay {hopeful}",
        "we've got this, {hopeful} about the future",
        "it will all work out in the end",
        "I know things will be okay",
        "{im} {hopeful} that {hope}",
        "this is hard but we will make it through",
        "tough times don't last, better days are ahead",
        "I am not giving up, I know I can do it",
        "I'm sure {hope}",
        "keep going, the best is yet to come",
        "look on the bright side, it could all turn around",
        "one step at a time, we will be fine",
        "still believing that {hope}",
        "a brighter future is coming, I am {hopeful} that {hope}",
        "I have a good feeling about {event}",
    ],
    "pessimism": [
        "nothing ever works out for me",
        "{event} is going to be a disaster, I just know it",
        "why even try, it is {hopeless}",
        "it's only going to get worse from here",
        "expecting the worst from {event}",
        "{event} is {hopeless}",
        "life keeps getting worse, {hopeless}",
        "no point in trying anymore, {hopeless}",
        "there is no way {hope}, {hopeless}",
        "things will never get better",
        "it will never work, {hopeless}",
        "what's the point, it always goes wrong",
        "I'm going to fail {event} anyway",
        "nothing is ever going to change",
        "we will lose like we always do",
        "I give up, it is {hopeless}",
        "I don't think {hope}, it never happens",
        "everything always goes wrong for me",
        "no future for people like us",
        "I already know {event} will fail, {hopeless}",
        "it's never going to get better",
    ],
    "sadness": [
        "so {sad} that {loss}",
        "crying all night because {loss}",
        ("I miss {friend} so much, {sad}", ("love",)),
        "{sad} after {event}",
        "feeling lonely and {sad} {time}",
        "tears in my eyes, {loss}",
        "{sad} day, {loss}",
        "I feel so empty and {sad}",
        "{im} {so} {sad}",
        "{im} {so} {sad} today",
        "{loss}, I haven't stopped crying",
        "{loss} and I'm {sad}",
        "I'm not happy, {loss}",
        "{im} not okay, {loss}",
        "I just want to cry, {loss}",
        "the house feels so quiet and empty now",
        "nobody understands me, I feel so alone",
        "my heart is broken, {loss}",
        "rest in peace, I will miss you forever",
        "cried my eyes out {time}",
        "sitting alone at {place} feeling {sad}",
        "my heart hurts, {loss}",
    ],
    "surprise": [
        "wait what?! {surprising}",
        "did not see that coming, {surprising}",
        "omg {surprising}",
        "{shocked} that {surprising}",
        "no way!! {surprising}",
        "plot twist: {surprising}",
        "I can't believe {surprising}",
        "whoa, {surprising}, {shocked}",
        "wow, {surprising}",
        "{im} {so} {shocked}, {surprising}",
        "never expected this, {surprising}",
        "what a surprise, {surprising}",
        "still in shock, {surprising}",
        "who would have thought {surprising}",
        "totally unexpected, {surprising}",
        "I am {shocked}",
        "{surprising}?! I did not expect that",
        "so that just happened, {surprising}",
        "out of nowhere {surprising}, {shocked}",
        "jaw dropped when {surprising}",
    ],
    "trust": [
        "{friend} always has my back",
        "I {trust} {friend} completely",
        "you can always {trust} {friend}",
        "{friend} kept the promise again, I {trust} them",
        "{friend} never lets me down",
        "honest people like {friend} are rare, I {trust} them",
        "so much faith in {friend}",
        "I {trust} my doctor, she explained everything honestly",
        "nobody is more reliable than {friend}",
        "{friend} is always there when I need them",
        "{friend} has never lied to me",
        "I would {trust} {friend} with my life",
        "{friend} always keeps their word",
        "I can tell {friend} anything",
        "we are in good hands with {friend}",
        "I {trust} {friend}, they always tell the truth",
        "whatever happens {friend} will stand by me",
        "loyal friends like {friend} are everything",
        "whatever happens I {trust} {friend} with my life",
    ],
}

EN_EMOJI: dict[str, list[str]] = {
    "anger": ["😡", "🤬", "😤", "😠"],
    "anticipation": ["⏳", "👀", "🙌", "🤞"],
    "disgust": ["🤢", "🤮", "😖", "🤧"],
    "fear": ["😱", "😨", "😰", "😬"],
    "joy": ["😂", "😊", "😁", "🎉", "😀", "😄", "🥳"],
    "love": ["❤️", "😍", "🥰", "💕", "❤", "😘"],
    "optimism": ["💪", "🌈", "✨", "🙂"],
    "pessimism": ["😒", "😞", "🙄", "😩"],
    "sadness": ["😢", "😭", "💔", "☹️"],
    "surprise": ["😮", "😲", "🤯", "😳"],
    "trust": ["🤝", "🙏", "👍"],
}
EN_HASHTAGS: dict[str, list[str]] = {
    "anger": ["#angry", "#rage", "#fuming"],
    "anticipation": ["#cantwait", "#countdown", "#soon"],
    "disgust": ["#gross", "#yuck", "#disgusting"],
    "fear": ["#scared", "#anxiety", "#nervous"],
    "joy": ["#happy", "#blessed", "#goodvibes"],
    "love": ["#love", "#family", "#grateful"],
    "optimism": ["#positivevibes", "#motivation", "#hope"],
    "pessimism": ["#hopeless", "#whybother", "#doomed"],
    "sadness": ["#sad", "#heartbroken", "#depressed"],
    "surprise": ["#shocked", "#plottwist", "#omg"],
    "trust": ["#trust", "#loyalty", "#friendship"],
}
EN_NEUTRAL_HASHTAGS = ["#news", "#monday", "#weekend", "#nowplaying", "#traffic", "#life"]
EN_NEUTRAL_EMOJI = ["☕", "🚌", "📚", "🌧️", "🍕", "📱"]
EN_MENTIONS = [
    "@jessie_k",
    "@DanTheMan88",
    "@maria_lopez",
    "@tomreads",
    "@sunny_days22",
    "@kev_in",
    "@LilyMae",
    "@the_real_sam",
]
EN_ELONGATE = {
    "so": ["soooo", "sooo", "soo"],
    "no": ["nooo", "noooo"],
    "omg": ["omggg", "omgggg"],
    "love": ["loooove", "loove"],
    "happy": ["happyyy", "happpy"],
    "sad": ["saaad", "sadddd"],
    "mad": ["maaad"],
    "gross": ["grosssss", "grooss"],
    "ready": ["readyyyy"],
    "what": ["whaaat"],
}
# How often an emotional sentence also gets a neutral clause (before or after).
EN_NEUTRAL_CONTEXT = 0.3
# Joiners of two clauses (plain and tweet-like).
EN_JOINERS = [
    ". ", "... ", " and ", ", ", "!! ", " - ", " but ", ", but ", " and also ", ". Also ", " although ",
]

# Affinities: which emotions tend to join which (weights).
EN_AFFINITY: dict[str, dict[str, float]] = {
    "anger": {"disgust": 3, "sadness": 1, "pessimism": 1, "surprise": 0.5, "fear": 0.5},
    "anticipation": {"optimism": 3, "joy": 2, "fear": 1.5, "trust": 0.5, "love": 0.5},
    "disgust": {"anger": 3, "sadness": 0.5, "surprise": 0.5},
    "fear": {"sadness": 2, "pessimism": 2, "anticipation": 1, "surprise": 0.5, "joy": 1},
    "joy": {"love": 3, "optimism": 2, "surprise": 1, "anticipation": 1.5, "trust": 1, "fear": 1},
    "love": {"joy": 3, "trust": 2, "optimism": 1, "sadness": 1},
    "optimism": {"joy": 2, "anticipation": 2, "trust": 2, "love": 1, "sadness": 1},
    "pessimism": {"sadness": 3, "fear": 2, "anger": 1, "disgust": 0.5},
    "sadness": {"pessimism": 2, "fear": 1, "love": 1, "anger": 1, "optimism": 0.5},
    "surprise": {"joy": 2, "anger": 1, "fear": 1, "disgust": 1},
    "trust": {"optimism": 2, "love": 2, "joy": 1},
}
# How often each emotion leads a sentence (SemEval-like skew, but every emotion well present).
EN_PRIMARY_WEIGHTS = {
    "anger": 1.2,
    "anticipation": 1.0,
    "disgust": 1.0,
    "fear": 1.0,
    "joy": 1.3,
    "love": 1.0,
    "optimism": 1.0,
    "pessimism": 0.9,
    "sadness": 1.1,
    "surprise": 0.9,
    "trust": 0.8,
}

# ---------------------------------------------------------------------------
# Chinese (word-segmented with single spaces; full-width punctuation only)
# ---------------------------------------------------------------------------

ZH_FILLERS: dict[str, list[str]] = {
    "人": ["同事", "邻居", "室友", "老板", "那个 司机", "隔壁 的 人", "网友", "售货员"],
    "家人": ["妈妈", "爸爸", "奶奶", "爷爷", "姐姐", "弟弟", "老朋友", "女儿"],
    "地方": ["公园", "海边", "老家", "图书馆", "火车站", "学校", "山上", "小镇"],
    "时间": ["今天", "昨天", "周末", "晚上", "早上", "春节", "这 几天"],
    "好消息": ["录取 通知书", "加薪 的 消息", "朋友 的 喜讯", "比赛 得奖 的 消息", "一 封 感谢信"],
    "坏行为": ["随地 吐痰", "插队", "乱 扔 垃圾", "说谎 骗人", "欺负 老人", "背后 说 坏话"],
    "坏消息": ["老师 生病 住院", "朋友 出国 再也 见不到", "家乡 发生 水灾", "小狗 走丢 了"],
    "事件": ["考试", "面试", "手术", "比赛", "答辩", "体检"],
    "意外事": [
        "多年 不见 的 同学 突然 来 看 我",
        "老房子 里 找到 了 一 封 旧信",
        "弟弟 考 了 全班 第一",
        "小店 门口 排起 了 长队",
        "六月 竟然 下 起 了 雪",
        "奶奶 学会 了 用 手机",
    ],
    "愿望": ["家人 身体 健康", "明年 考 上 研究生", "早日 回到 家乡", "世界 和平", "大家 都 平安"],
}

ZH_WORDS: dict[str, list[str]] = {
    "开心": ["开心", "高兴", "快乐", "欢喜"],
    "讨厌": ["讨厌", "厌恶", "痛恨", "憎恨", "反感"],
    "爱": ["爱", "深爱"],
    "难过": ["难过", "伤心", "悲伤", "痛苦", "心酸"],
    "紧张": ["紧张", "焦虑", "担心", "不安", "忐忑"],
    "吃惊": ["吃惊", "惊讶", "意外", "震惊"],
    "生气": ["生气", "愤怒", "恼火", "气愤"],
    "期待": ["期待", "盼望", "希望", "憧憬"],
}

ZH_TEMPLATES: dict[str, list[str]] = {
    "joy": [
        "{时间} 和 {家人} 去 了 {地方} ， 玩 得 非常 {开心}",
        "收到 {好消息} ， 我 {开心} 得 跳 了 起来",
        "阳光 真 好 ， 心情 特别 {开心}",
        "一家人 围 在 一起 吃饭 ， 笑声 不断 ， 真 {开心}",
        "哈哈 ， 今天 太 {开心} 了",
        "在 {地方} 散步 ， 心里 说不出 的 {开心}",
    ],
    "hate": [
        "我 最 {讨厌} {坏行为} 的 人",
        "{人} 那种 虚伪 的 样子 真 让 人 {讨厌}",
        "看到 有人 {坏行为} ， 心里 十分 {讨厌}",
        "我 {讨厌} 这种 冷漠 自私 的 风气",
        "对 {坏行为} 这种 事 ， 我 打心底 {讨厌}",
        "那些 只会 {坏行为} 的 家伙 ， 实在 令人 {讨厌}",
    ],
    "love": [
        "我 {爱} 我 的 {家人}",
        "{家人} 的 关心 让 我 感到 无比 温暖 ， 我 {爱} 这个 家",
        "我 深深 地 热爱 着 这 片 土地",
        "{家人} 温柔 的 笑容 ， 我 永远 {爱} 着",
        "谢谢 {家人} 一直 陪伴 我 ， 我 {爱} 你",
        "我 {爱} {地方} 的 一草一木",
    ],
    "sorrow": [
        "听说 {坏消息} ， 心里 非常 {难过}",
        "一个人 待 在 {地方} ， 孤独 又 {难过}",
        "想起 往事 ， 眼泪 止不住 地 流 ， 好 {难过}",
        "失去 了 最 珍贵 的 东西 ， 我 很 {难过}",
        "{时间} 得知 {坏消息} ， 整夜 都 很 {难过}",
        "看着 空 荡荡 的 房间 ， 说不出 的 {难过}",
    ],
    "anxiety": [
        "明天 就要 {事件} 了 ， 我 很 {紧张}",
        "一直 担心 {家人} 的 身体 ， 一夜 没 睡 好",
        "工作 的 事 让 我 {紧张} 不安",
        "等待 {事件} 的 结果 ， 心里 特别 {紧张}",
        "不 知道 将来 会 怎样 ， 心里 很 {紧张}",
        "{时间} 一直 {紧张} 得 吃 不 下 饭",
    ],
    "surprise": [
        "没想到 {意外事}",
        "真 让 人 {吃惊} ， {意外事}",
        "居然 {意外事} ， 太 {吃惊} 了",
        "我 {吃惊} 地 发现 {意外事}",
        "万万 没 想到 {意外事} ， 大家 都 很 {吃惊}",
        "{时间} 听说 {意外事} ， 真 是 {吃惊}",
    ],
    "anger": [
        "{人} 竟然 {坏行为} ， 气死 我 了",
        "我 非常 {生气} ， {人} 又 迟到 了",
        "这种 不公平 的 事 简直 让 人 {生气}",
        "忍不住 对 {人} 发 了 一通 火 ， 太 {生气} 了",
        "{人} 根本 不 讲理 ， 我 越 想 越 {生气}",
        "看到 {人} {坏行为} ， 我 {生气} 得 说不出 话",
    ],
    "expect": [
        "{期待} {愿望}",
        "{期待} 着 {时间} 回到 {地方}",
        "真 {期待} 早点 见到 {家人}",
        "相信 明天 会 更好 ， 我 {期待} 着",
        "{期待} {事件} 能 顺利 通过",
        "心中 {期待} 着 新 的 生活",
    ],
}
ZH_NEUTRAL = [
    "{时间} 去 {地方} 办 了 一些 事情",
    "这 条 路 通往 {地方}",
    "会议 改 到 明天 下午 举行",
    "我们 在 {地方} 吃 了 午饭",
    "他 每天 早上 七点 起床",
    "这 本 书 一共 有 十二 章",
]
ZH_ENDINGS = {"default": ["。", "。", "。", "！"], "neutral": ["。"]}
ZH_JOINERS = [" ， ", " ， ", " ； ", " 。 "]

ZH_AFFINITY: dict[str, dict[str, float]] = {
    "joy": {"love": 3, "expect": 2, "surprise": 1},
    "hate": {"anger": 3, "sorrow": 1},
    "love": {"joy": 3, "expect": 2, "sorrow": 1},
    "sorrow": {"anxiety": 2, "love": 1, "hate": 1},
    "anxiety": {"sorrow": 2, "expect": 2, "anger": 0.5},
    "surprise": {"joy": 2, "anger": 1, "anxiety": 1},
    "anger": {"hate": 3, "sorrow": 1, "surprise": 0.5},
    "expect": {"love": 2, "joy": 2, "anxiety": 2},
}
ZH_PRIMARY_WEIGHTS = {
    "joy": 1.2,
    "hate": 0.9,
    "love": 1.2,
    "sorrow": 1.1,
    "anxiety": 1.1,
    "surprise": 1.3,
    "anger": 0.9,
    "expect": 1.2,
}

SLOT = re.compile(r"\{([^{}]+)\}")


def _fill(template: str, pools: dict[str, list[str]], rng: random.Random) -> str:
    """Replace every {slot} by a random entry of its pool (recursively)."""
    for _ in range(3):  # fillers may contain slots themselves
        template = SLOT.sub(lambda m: rng.choice(pools[m.group(1)]), template)
    return template


def _sample_emotions(
    rng: random.Random,
    primary_weights: dict[str, float],
    affinity: dict[str, dict[str, float]],
    n_weights: list[float] = N_EMOTIONS_WEIGHTS,
) -> list[str]:
    """Sample an emotion set: a primary emotion plus partners by affinity."""
    n = rng.choices(range(len(n_weights)), weights=n_weights)[0]
    if n == 0:
        return []
    names = list(primary_weights)
    chosen = [rng.choices(names, weights=[primary_weights[e] for e in names])[0]]
    while len(chosen) < n:
        weights: dict[str, float] = {}
        for e in chosen:
            for partner, w in affinity[e].items():
                if partner not in chosen:
                    weights[partner] = weights.get(partner, 0.0) + w
        if not weights:
            break
        partners = list(weights)
        chosen.append(rng.choices(partners, weights=[weights[p] for p in partners])[0])
    return chosen


def _templates_for(templates: list, split: str, reserved: int = 1) -> list:
    """The last ``reserved`` templates of each emotion are kept for the dev split."""
    return templates[:-reserved] if split == "train" else templates


def _elongate(text: str, rng: random.Random) -> str:
    """Stretch one elongatable word ("so" -> "soooo"), as tweets do."""
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if w.lower() in EN_ELONGATE]
    if spots:
        i = rng.choice(spots)
        words[i] = rng.choice(EN_ELONGATE[words[i].lower()])
    return " ".join(words)


def _url(rng: random.Random) -> str:
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "https://t.co/" + "".join(rng.choice(alphabet) for _ in range(10))


def _en_clause(
    emotion: str, split: str, pools: dict[str, list[str]], rng: random.Random
) -> tuple[str, set[str]]:
    """One clause of ``emotion`` and the emotions it carries (its own and the template's extras)."""
    template = rng.choice(_templates_for(EN_TEMPLATES[emotion], split, EN_DEV_TEMPLATES))
    extra: tuple[str, ...] = ()
    if isinstance(template, tuple):
        template, extra = template
    return _fill(template, pools, rng), {emotion, *extra}


def make_en_sentence(emotions: list[str], split: str, rng: random.Random) -> tuple[str, set[str]]:
    """One English sentence whose clauses express exactly the returned emotions.

    Half of the sentences are plain everyday English (capitalised, final punctuation,
    at most one emoji); the other half look like tweets (elongated words, hashtags,
    mentions, links, emoji runs).
    """
    pools = {**EN_FILLERS, **EN_WORDS}
    carried: set[str] = set()
    if emotions:
        clauses = []
        for e in emotions:
            clause, labels = _en_clause(e, split, pools, rng)
            clauses.append(clause)
            carried |= labels
    else:
        clauses = [_fill(rng.choice(EN_FILLERS["neutral"]), pools, rng)]
    if emotions and rng.random() < EN_NEUTRAL_CONTEXT:
        # Neutral context around an emotional clause: its words are no evidence.
        clauses.insert(rng.choice([0, len(clauses)]), _fill(rng.choice(EN_FILLERS["neutral"]), pools, rng))
    text = clauses[0]
    for clause in clauses[1:]:
        text += rng.choice(EN_JOINERS) + clause
    text = re.sub(" +", " ", text).strip()
    if rng.random() < 0.5:  # plain
        text = text[0].upper() + text[1:]
        if text[-1] not in "!?.":
            text += rng.choice([".", ".", "!", "!"])
        if emotions and rng.random() < 0.3:
            text += " " + rng.choice(EN_EMOJI[rng.choice(emotions)])
        return text, carried
    if rng.random() < 0.35:
        text = _elongate(text, rng)
    if rng.random() < 0.4:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.06:
        text = text.upper()
    if rng.random() < 0.3:
        text += rng.choice(["!", "!!!", ".", "?!", " lol", " smh"])
    extras: list[str] = []
    for e in emotions:
        if rng.random() < 0.5:
            extras.append(rng.choice(EN_EMOJI[e]) * rng.choice([1, 1, 2, 3]))
        if rng.random() < 0.2:
            extras.append(rng.choice(EN_HASHTAGS[e]))
    if not emotions and rng.random() < 0.5:
        extras.append(rng.choice(EN_NEUTRAL_HASHTAGS + EN_NEUTRAL_EMOJI))
    rng.shuffle(extras)
    if extras:
        text += " " + " ".join(extras)
    if rng.random() < 0.25:
        text = rng.choice(EN_MENTIONS) + " " + text
    if rng.random() < 0.12:
        text += " " + _url(rng)
    return text, carried


def make_zh_sentence(emotions: list[str], split: str, rng: random.Random) -> str:
    """One segmented Chinese sentence whose clauses express exactly ``emotions``."""
    pools = {**ZH_FILLERS, **ZH_WORDS}
    if emotions:
        clauses = [_fill(rng.choice(_templates_for(ZH_TEMPLATES[e], split)), pools, rng) for e in emotions]
        ending = rng.choice(ZH_ENDINGS["default"])
    else:
        clauses = [_fill(rng.choice(ZH_NEUTRAL), pools, rng)]
        ending = rng.choice(ZH_ENDINGS["neutral"])
    text = clauses[0]
    for clause in clauses[1:]:
        text += rng.choice(ZH_JOINERS) + clause
    return text + " " + ending


def generate(
    language: str,
    sizes: dict[str, int],
    seed: int = SEED,
) -> dict[str, list[tuple[str, list[int]]]]:
    """Generate ``{split: [(sentence, labels)]}`` without duplicates across splits."""
    if language == "en":
        emotions, primary, affinity = EN_EMOTIONS, EN_PRIMARY_WEIGHTS, EN_AFFINITY
        n_weights = EN_N_EMOTIONS_WEIGHTS
    else:
        emotions, primary, affinity = ZH_EMOTIONS, ZH_PRIMARY_WEIGHTS, ZH_AFFINITY
        n_weights = N_EMOTIONS_WEIGHTS
    rng = random.Random(f"{seed}-{language}")
    seen: set[str] = set()
    out: dict[str, list[tuple[str, list[int]]]] = {}
    for split in ("train", "dev"):
        rows: list[tuple[str, list[int]]] = []
        while len(rows) < sizes[split]:
            chosen = _sample_emotions(rng, primary, affinity, n_weights)
            if language == "en":
                text, carried = make_en_sentence(chosen, split, rng)
                if len(carried) > len(n_weights) - 1:
                    continue  # a template's extra emotion made one too many
                chosen = [e for e in emotions if e in carried]
            else:
                text = make_zh_sentence(chosen, split, rng)
            key = text.lower()
            if key in seen:
                continue
            seen.add(key)
            rows.append((text, [int(e in chosen) for e in emotions]))
        out[split] = rows
    return out


def write_en(rows: list[tuple[str, list[int]]], path: Path, split: str) -> None:
    """Write SemEval-2018 E-c TSV (tab-separated, no quoting)."""
    lines = ["ID\tTweet\t" + "\t".join(EN_EMOTIONS)]
    for i, (text, labels) in enumerate(rows, 1):
        assert "\t" not in text and "\n" not in text and '"' not in text
        lines.append(f"demo-En-{split}-{i:04d}\t{text}\t" + "\t".join(map(str, labels)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_zh(rows: list[tuple[str, list[int]]], path: Path) -> None:
    """Write Ren-CECps CSV (``Tweet,label``; no ASCII commas or quotes, so no quoting)."""
    lines = ["Tweet,label"]
    for text, labels in rows:
        assert "," not in text and '"' not in text and "\n" not in text
        assert "  " not in text and text == text.strip()
        lines.append(text + "," + "|".join(map(str, labels)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Write the four demo corpus files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = Path(__file__).resolve().parents[1] / "lem_keras" / "data" / "demo_corpus"
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    en = generate("en", EN_SIZES, args.seed)
    zh = generate("zh", ZH_SIZES, args.seed)
    for split in ("train", "dev"):
        write_en(en[split], args.out / f"demo-en-{split}.txt", split)
        write_zh(zh[split], args.out / f"demo-zh-{split}.csv")
    for name, data, emotions in (("en", en, EN_EMOTIONS), ("zh", zh, ZH_EMOTIONS)):
        for split, rows in data.items():
            counts = [sum(r[1][k] for r in rows) for k in range(len(emotions))]
            card = [sum(r[1]) for r in rows]
            print(
                f"{name}-{split}: {len(rows)} sentences, "
                f"mean labels {sum(card) / len(rows):.2f}, "
                f"none {card.count(0)}, >=2 {sum(c >= 2 for c in card)}; "
                + ", ".join(f"{e}={c}" for e, c in zip(emotions, counts))
            )


if __name__ == "__main__":
    main()
