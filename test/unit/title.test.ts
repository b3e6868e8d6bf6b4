import { describe, expect, it } from 'vitest';
import { oneLine, parseTitleLines, titleFromMessage } from '../../src/agents/title.js';

describe('parseTitleLines (every agent reads its TITLE:/HYPOTHESIS: through it)', () => {
  it('reads plain, lower-case and Markdown-emphasised markers', () => {
    expect(parseTitleLines('did it\nTITLE: Wider net\nHYPOTHESIS: more capacity')).toEqual({
      title: 'Wider net',
      hypothesis: 'more capacity',
    });
    expect(parseTitleLines('**TITLE:** Wider net\n**HYPOTHESIS:** more capacity')).toEqual({
      title: 'Wider net',
      hypothesis: 'more capacity',
    });
    expect(parseTitleLines('**Title**: Wider net\n__Hypothesis__: more capacity')).toEqual({
      title: 'Wider net',
      hypothesis: 'more capacity',
    });
    expect(parseTitleLines('**TITLE: Wider net**')).toEqual({ title: 'Wider net' });
    expect(parseTitleLines('title: lr 0.1 -> 0.05\r\nhypothesis: smaller steps\r\n')).toEqual({
      title: 'lr 0.1 -> 0.05',
      hypothesis: 'smaller steps',
    });
  });

  it('keeps emphasis that belongs to the title itself', () => {
    expect(parseTitleLines('TITLE: edit __init__')).toEqual({ title: 'edit __init__' });
  });

  it('takes the last marker, so an echoed instruction does not become the title', () => {
    const out =
      'prompt: ... end with\nTITLE: <one line: what changed>\nHYPOTHESIS: <why>\n...working...\nTITLE: Halve LR\nHYPOTHESIS: less noise';
    expect(parseTitleLines(out)).toEqual({ title: 'Halve LR', hypothesis: 'less noise' });
  });

  it('reads a multi-line hypothesis up to a blank line or the next marker', () => {
    expect(
      parseTitleLines('HYPOTHESIS: a smaller step\nlowers the loss\n\nunrelated log line'),
    ).toEqual({ hypothesis: 'a smaller step\nlowers the loss' });
    expect(parseTitleLines('HYPOTHESIS: a smaller step\nlowers the loss\nTITLE: Halve LR')).toEqual(
      { title: 'Halve LR', hypothesis: 'a smaller step\nlowers the loss' },
    );
    expect(parseTitleLines(`HYPOTHESIS: ${'x'.repeat(5000)}`).hypothesis).toHaveLength(4000);
  });

  it('takes the next line when the marker stands alone, and ignores empty markers', () => {
    expect(parseTitleLines('**TITLE:**\n\nWider net\n**HYPOTHESIS:**\nmore capacity')).toEqual({
      title: 'Wider net',
      hypothesis: 'more capacity',
    });
    expect(parseTitleLines('TITLE:\nHYPOTHESIS: why')).toEqual({ hypothesis: 'why' });
    expect(parseTitleLines('no markers here\nSUBTITLE: x\nTITLE without colon')).toEqual({});
  });
});

describe('titleFromMessage', () => {
  it('falls back to the first non-blank line, with the whole message as the hypothesis', () => {
    expect(titleFromMessage('\nChanged the width.\nMore text.')).toEqual({
      title: 'Changed the width.',
      hypothesis: 'Changed the width.\nMore text.',
    });
    expect(titleFromMessage('Changed the width.\nHYPOTHESIS: wider is better')).toEqual({
      title: 'Changed the width.',
      hypothesis: 'wider is better',
    });
    expect(titleFromMessage('  \n')).toEqual({});
  });
});

describe('oneLine', () => {
  it('folds whitespace, caps at 200 characters, and falls back when empty', () => {
    expect(oneLine('a\n  b\tc', 'x')).toBe('a b c');
    expect(oneLine('y'.repeat(300), 'x')).toBe('y'.repeat(197) + '...');
    expect(oneLine(' \n', 'untitled')).toBe('untitled');
  });
});
