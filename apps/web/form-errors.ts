/** One problem with a form, tied to the field it is about (GOV.UK error summary and error message). */
export interface FormError {
  field: string;
  text: string;
}

/** The view model GOV.UK's error summary and each field's error message take. */
export function formErrors(errors: FormError[]) {
  return {
    list: errors.map((e) => ({ text: e.text, href: `#${e.field}` })),
    byField: Object.fromEntries(errors.map((e) => [e.field, { text: e.text }])),
  };
}
