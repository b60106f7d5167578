/** Types of diagram.js (plain JavaScript, served to the browser as it is). */
export type Shape = 'rect' | 'stadium' | 'hexagon' | 'rhombus' | 'circle' | 'doublecircle' | 'flag';
export interface GraphNode {
  id: string;
  shape: Shape;
  lines: string[];
  implicit?: boolean;
}
export interface GraphEdge {
  from: string;
  to: string;
  label?: string;
}
export interface Graph {
  direction: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}
export interface LaidOutNode {
  id: string;
  shape: Shape;
  kind: string;
  x: number;
  y: number;
  w: number;
  h: number;
  cx: number;
  cy: number;
  lines: string[];
  title: string[];
  stepId?: string;
  reserve: number;
}
export interface Layout {
  width: number;
  height: number;
  nodes: LaidOutNode[];
  edges: Array<GraphEdge & { reversed?: boolean; points: Array<{ x: number; y: number }>; labelAt: { x: number; y: number } }>;
  crossings: number;
}
type Measure = (text: string, bold: boolean) => number;
export function decodeEntities(s: string): string;
export function parseMermaid(text: string): Graph;
export function nodeKind(node: GraphNode): string;
export function stepIdOf(node: GraphNode): string | undefined;
export function wrapLine(line: string, max?: number): string[];
export function estimateWidth(text: string, bold?: boolean): number;
export function layoutGraph(graph: Graph, options?: { measure?: Measure; reserve?: (node: GraphNode) => number }): Layout;
export function esc(s: unknown): string;
export function renderSvg(layout: Layout, options: { id: string; title: string; counters?: (node: LaidOutNode) => boolean; measure?: Measure }): string;
export function placeLabels(edges: Layout['edges'], measure?: Measure): Array<{ text: string; w: number; x: number; y: number }>;
