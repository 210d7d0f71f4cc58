/**
 * Where a validation rule is inside an argument's (or a variable default's) literal value, as an
 * input path: `input.signers[1].email`. Run beside the rule (visitInParallel, this first) and read
 * `path()` (and `node()`, the innermost value) when it reports. The segments are argument, field and variable names from the
 * document and list indices, never a value.
 */
import type { ASTNode, ASTVisitor } from 'graphql';

export type InputPath = (string | number)[];

/** `input.signers[1].email` (a leading `$name` stays as it is). */
function printInputPath(path: InputPath): string {
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`)).join('');
}

/** ` at "input.signers[1].email"` when the path goes inside its root (the variable or argument), else nothing. */
export function atPath(path: InputPath): string {
  return path.length > 1 ? ` at "${printInputPath(path)}"` : '';
}

export function literalPath(): { visitor: ASTVisitor; path(): InputPath; node(): ASTNode | undefined } {
  const path: InputPath = [];
  /** The values entered and not yet left, innermost last. */
  const values: ASTNode[] = [];
  const named = { enter: (node: { name: { value: string } }) => void path.push(node.name.value), leave: () => void path.pop() };
  // a list's items are the only values whose key (their place in the parent) is a number
  const value = {
    enter(node: ASTNode, key: string | number | undefined) {
      values.push(node);
      if (typeof key === 'number') path.push(key);
    },
    leave(_node: ASTNode, key: string | number | undefined) {
      values.pop();
      if (typeof key === 'number') path.pop();
    },
  };
  return {
    visitor: {
      Argument: named,
      ObjectField: named,
      VariableDefinition: {
        enter: (node) => void path.push(`$${node.variable.name.value}`),
        leave: () => void path.pop(),
      },
      ListValue: value,
      ObjectValue: value,
      StringValue: value,
      IntValue: value,
      FloatValue: value,
      BooleanValue: value,
      NullValue: value,
      EnumValue: value,
      Variable: value,
    },
    path: () => [...path],
    node: () => values.at(-1),
  };
}
