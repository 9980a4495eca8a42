import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from './commands/index.ts';

/** The planner's sources (with their sub-folders), whose hints this test reads. */
const SEPARATION = join(dirname(fileURLToPath(import.meta.url)), '..', 'separation');

/** Every string literal and template of a source file (comments are not strings, so they are left out). */
function strings(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) found.push(node.text);
    else if (ts.isTemplateExpression(node)) {
      // One text per template, with a placeholder per substitution, so a flag stays with its command.
      found.push(node.head.text + node.templateSpans.map((s) => `<…>${s.literal.text}`).join(''));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * The command a flag belongs to: the last "wsep <command>" before it in the same text (a hint may
 * say "or train one (wsep train --task x)"), else `wsep plan`, which runs the planner.
 */
function commandOf(text: string, at: number): string {
  const before = [...text.slice(0, at).matchAll(/wsep ([a-z]+)/g)];
  return before.length > 0 ? before[before.length - 1]![1]! : 'plan';
}

describe('messages of the planner', () => {
  it('name only flags that `wsep plan` (or the command they name) has', () => {
    const flags = new Map(COMMANDS.map((c) => [c.name, new Set(c.options.map((o) => o.name))]));
    const named: string[] = [];
    const unknown: string[] = [];
    // Recursive: the planner's stages and strategies live in sub-folders.
    for (const name of readdirSync(SEPARATION, { recursive: true, encoding: 'utf8' })) {
      if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
      for (const text of strings(join(SEPARATION, name)))
        for (const m of text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)) {
          const command = commandOf(text, m.index);
          if (command === 'plan') named.push(m[1]!);
          if (!flags.get(command)?.has(m[1]!))
            unknown.push(`${name}: --${m[1]} (wsep ${command}) in "${text}"`);
        }
    }
    expect(unknown).toEqual([]);
    // The scan finds the hints it is meant to check.
    expect(named).toEqual(
      expect.arrayContaining(['l1', 'l2', 'page-size', 'self-tying', 'no-augment', 'pair']),
    );
  });
});
