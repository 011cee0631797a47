import test from 'ava';
import { characterErrorRate } from '../helpers/character-error-rate.ts';

/** The CER the OCR tests and bench rely on, checked on cases worked out by hand. */
test('identical text, NFD against NFC, and whitespace differences are no error', (t) => {
  t.is(characterErrorRate('Trăm năm', 'Trăm năm'), 0);
  t.is(characterErrorRate('Tra\u0306m  na\u0306m\n', 'Trăm năm'), 0);
});

test('one substitution, insertion or deletion in 8 characters is 1/8', (t) => {
  t.is(characterErrorRate('Tram năm', 'Trăm năm'), 1 / 8);
  t.is(characterErrorRate('Trăm nămm', 'Trăm năm'), 1 / 8);
  t.is(characterErrorRate('Trăm nm', 'Trăm năm'), 1 / 8);
});

test('a character outside the BMP is one character', (t) => {
  t.is(characterErrorRate('𡨸喃', '𡨸字'), 1 / 2);
  t.is(characterErrorRate('', '𡨸字'), 1);
});

test('kitten to sitting is 3 edits', (t) => {
  t.is(characterErrorRate('kitten', 'sitting'), 3 / 7);
});
