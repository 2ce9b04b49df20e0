import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { README, replaceBlock } from '../scripts/tool-docs.ts';

test('README opens with the three commands', async () => {
  const readme = await readFile(README, 'utf8');
  const firstBlock = readme.slice(0, readme.indexOf('```', readme.indexOf('```') + 3));
  for (const command of ['npm install', 'npm start', 'npm test']) assert.ok(firstBlock.includes(command), command);
});

test('the README tool table matches the tool declarations (run `npm run docs`)', async () => {
  const readme = await readFile(README, 'utf8');
  assert.equal(readme, replaceBlock(readme));
});
