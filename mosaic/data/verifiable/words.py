"""The word lists the verifiable tasks draw from (``WORDS``: common lowercase English words, letters only,
written for this generator; ``MONTHS``; the vowels and the alphabet). Data only: changing a list changes
the generated tasks, so it sits apart from the code that draws from it.
"""
from __future__ import annotations

WORDS: tuple[str, ...] = tuple("""
apple river stone garden window candle forest bridge mountain pencil basket ladder
orange blanket castle dragon engine feather guitar harbor island jacket kettle lemon
magnet needle ocean pepper rabbit saddle tiger umbrella valley wagon yellow zebra
anchor bottle button carpet circle cloud copper cotton crystal desert dinner doctor
eagle elbow fabric falcon farmer fence finger flower forge fountain garlic giant glove
goat grape hammer helmet honey horse hunter jungle kitchen knight lantern leather letter
lizard marble meadow mirror monkey morning needle nest noodle orbit otter oyster paddle
palace panther parrot pebble pillow pirate planet pocket potato puzzle quarry quiet rain
ribbon rocket saffron sailor salmon scarf shadow shell silver singer sister spider spoon
square squirrel station summer sunset sweater table teacher thunder ticket timber tomato
tower travel tunnel turtle velvet violin walnut wallet water weather whistle willow winter
wizard wolf wonder yarn barn beach bell bird boat book bread brick brush cake camel card
chair chalk cheese cherry chest child clock coat corn crown cup daisy door dream drum dust
egg field fire fish flag flute fox frog glass gold grass hat hill horn house ice ink jar
kite lake lamp leaf lion map milk moon mouse nail night nut oak owl paint paper pearl pear
pig pine plum pond queen road rope rose salt sand seed ship shoe silk sky snow sock star
storm sugar sun swan tea tent tree wheel wind wing wood
bright calm clever cold crisp dark deep eager early empty fancy fast fierce gentle gloomy
grand happy heavy hollow humble kind large lively lonely loud lucky merry narrow noble
odd plain polite proud quick rapid rough round rusty shiny short silent simple sleepy
slow small smooth soft solid sour steep strange strong sunny sweet swift tall tender thick
tiny tidy warm wild wise young brave busy cheap dusty fresh golden green purple scarlet
amber violet hidden ancient modern distant gentle hungry
carry gather wander whisper borrow follow listen open paint build climb dance dig draw
drift float gallop jump laugh march melt paddle pour reach ride roll run sail sing skip
sleep swim throw travel wash watch write bake chase clean cook fetch hide knit plant
""".split())
WORDS = tuple(dict.fromkeys(WORDS))  # drop the few repeats, keep order

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
VOWELS = frozenset("aeiou")
LETTERS = "abcdefghijklmnopqrstuvwxyz"
