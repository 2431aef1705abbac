(question) => {
  // The recent questions of a page without sign-in, kept in this browser (localStorage), newest
  // first, at most 50; drawn as qa.showing.facets_html.render_history draws a signed-in one.
  const key = 'qa-history', kept = 50;
  let questions = [];
  try {
    questions = JSON.parse(localStorage.getItem(key) || '[]').filter((q) => typeof q === 'string');
  } catch (error) {
    questions = [];
  }
  const asked = typeof question === 'string' ? question.trim() : '';
  if (asked) {
    questions = [asked, ...questions.filter((q) => q !== asked)].slice(0, kept);
    try { localStorage.setItem(key, JSON.stringify(questions)); } catch (error) { /* full */ }
  }
  if (!questions.length) return '';
  const escaped = (text) => text.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;',
    '>': '&gt;', '"': '&quot;', "'": '&#x27;'}[c]));
  return '<div class="qa-history"><span class="qa-facet-name">Recent</span>' + questions.map(
    (q) => `<button type="button" class="qa-past" data-qa-query="${escaped(q)}">${escaped(q)}</button>`
  ).join('') + '</div>';
}
