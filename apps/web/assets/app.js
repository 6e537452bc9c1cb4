// GOV.UK Frontend's components (password reveal, error summary focus, navigation menu). Nothing
// else runs on ordinary pages: they work without JavaScript.
import { initAll } from '/assets/govuk-frontend.min.js';

initAll();
