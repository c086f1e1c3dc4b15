"""Common given names, so that an all-caps "MEIER HANS" can be greeted as "Hans Meier".

Directories and older mail systems often write display names as "SURNAME GIVENNAME" in capitals,
which leaves no other clue to the order. `names.greeting_name` reorders such a name only when its
last word is in this list and its first word is not; a name outside the list keeps the order it
was written in, which is what happens to every name without the list. It is also what lets a
single word ("Katrin") stand as a greeting: a lone surname or nickname greets neutrally instead.

Frequent given names in Germany, Austria, Switzerland and English-speaking countries, including
the names most common among people of Turkish, Polish, Russian, Italian, Greek and Arabic origin
there; lower case, without accents where the plain spelling is as common (both are listed).
Extend it freely: a missing name only means a neutral "Guten Tag,".
"""

from __future__ import annotations

_LISTED = """
    aaron adam adrian ahmed ahmet aileen alan albert alberto aleksandra alex alexa alexander alexandra
    alexandre alexis alfred ali alice alicia alina alison alexej aljoscha amelie amy ana andrea andreas
    andrew andrzej andré andre angela angelika angelo anja ann anna anne anneliese annemarie anne-marie
    annette anthony anton antonia antonio arne arthur astrid axel ayse ayşe barbara bastian beate beatrice
    beatrix ben benedikt benjamin bernd bernhard bettina bianca birgit björn bjoern brian brigitte bruno
    burak can carina carl carla carlo carlos carmen carol carolin caroline carsten catherine cem charles
    charlotte chiara chris christa christian christiane christina christine christoph christopher claire
    clara claudia claus cornelia daniel daniela daniele danny david deniz dennis diana dieter dietmar
    dimitri dimitrios dirk dominik dominika doris dorothea edith eduard elena eleni elias elif elisabeth
    elke ella ellen elias emil emily emine emma emre enrico eric erich erik erika ernst esra eva evelyn
    fabian fabio farid fatima fatma felix finn florian francesca francesco frank franz franziska frederik
    friedrich fritz gabriele gabriel gary georg george georgios gerd gerhard gertrud gisela giulia
    giuseppe gregor grzegorz gudrun guido günter guenter günther gunther hakan hamza hanna hannah hannelore
    hans hans-peter hans-jürgen harald hasan heidi heike heinrich heinz heinz-dieter helen helena helga
    helmut henning henrik henry herbert hermann hildegard holger horst hugo hüseyin huseyin ibrahim ida
    igor ilse ines ingo ingrid irene iris irina isabel isabella isabelle ivan jacob jakob james jan jana
    janina janine jannik jasmin jason jennifer jens jessica joachim jochen johann johanna johannes john
    jonas jonathan jörg joerg josef joseph julia julian juliane julius jürgen juergen justin jutta
    kai karin karl karl-heinz karolina katarzyna kate katharina kathrin katja katrin kemal kerstin kevin
    kim klaus konrad konstantin kristina lara larissa lars laura lea leah lena leon leonie linda lisa
    lorenz lorenzo louis luca lucas lucia ludwig luis luisa lukas lutz luise magdalena maik malte mandy
    manfred manuel manuela marc marcel marco marcus maren margarete margit maria marie marina mario
    marion mark marko markus marta martha martin martina mary mathias matthias max maximilian maya
    mehmet melanie melissa merve mia michael michaela michał michal michelle mike miriam mohamed
    mohammed monika moritz murat mustafa nadine nadja natalia natalie natascha nele nicola nicolas
    nicole niklas nico nils nina noah norbert ole olga oliver olivia oskar otto pascal patricia patrick
    paul paula pauline peter petra philipp phillip pia piotr rainer ralf ralph ramona regina reinhard
    renate rene rené richard rita robert robin roland rolf roman ronja rosa rosemarie ruth sabine sabrina
    sahin sandra sara sarah sascha sebastian selin serkan sergej sergei silke simon simone sofia sonja
    sophia sophie stefan stefanie steffen stephan stephanie steven susanne svenja sven swen sylvia
    tanja tatjana thomas thorsten tim timo tina tobias tom tomasz torsten udo ulf ulla ulrich ulrike ursula
    ute uwe valentina vanessa vera veronika viktor viktoria vincent volker walter waltraud werner wilhelm
    william willi wolfgang yannick yasemin yusuf yvonne zeynep
    """
GIVEN_NAMES = frozenset(_LISTED.split())
