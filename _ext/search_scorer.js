// Search ranking for "Loss Functions in Deep Learning" (Sphinx's html_search_scorer: this file is
// written into _static/language_data.js, before searchtools.js, which then uses this Scorer).
//
// A learner who searches for a loss ("Huber", "focal") wants the chapter that teaches it, not
// the API entries of `lossutils.huber`, `grad_huber`, ...: chapter pages and their sections get
// a boost larger than any single match scores, so they come first, in Sphinx's own order. A
// query that looks like code (a dot or an underscore: `lossutils.huber`, `cross_entropy`) is
// left to Sphinx's ranking, which puts the API entry first.
var Scorer = {
  chapterBoost: 100,
  score: (result) => {
    const [docname, , , , score] = result;
    const query = new URLSearchParams(window.location.search).get("q") || "";
    if (/[._]/.test(query)) return score;
    return docname.startsWith("chapters/") ? score + Scorer.chapterBoost : score;
  },
  // Sphinx's defaults (sphinx/themes/basic/static/searchtools.js), unchanged.
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: {
    0: 15,
    1: 5,
    2: -5,
  },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};
